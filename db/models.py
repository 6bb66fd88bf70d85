"""The ORM models of the results store's writes (MLflow's store layer: typed models behind the store API),
mapped onto the Core tables of db/tables.py, where the columns are spelled once: a class for each table
that a write builds or changes as objects (the others are written by Core inserts). The reads query those tables
without the ORM; this module, and sqlalchemy.orm with it, is imported by the first write."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from db import tables


def as_dict(obj) -> dict:
    """A row's columns as a plain dict: what the store hands out, so no ORM object crosses threads."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


class Base(DeclarativeBase):
    metadata = tables.metadata


class Experiment(Base):
    __table__ = tables.EXPERIMENT
    runs: Mapped[list["Run"]] = relationship(back_populates="experiment", cascade="all, delete-orphan")


class Run(Base):
    __table__ = tables.RUN
    experiment: Mapped[Experiment] = relationship(back_populates="runs")


class Metric(Base):
    __table__ = tables.METRIC


class MetricSummary(Base):
    __table__ = tables.METRIC_SUMMARY







class Alert(Base):
    __table__ = tables.ALERT



class SchedulerLease(Base):
    __table__ = tables.SCHEDULER_LEASE
