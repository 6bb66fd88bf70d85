"""Alerts in the store: each is written in the transaction of what it reports (a run ending, a run marked lost,
a worker's batch), so no status change goes without its alert and no alert without its change; and the reads
of `xlqa-run alerts`, `list` and the dashboard. After the commit, the new rows go to `alert_hook` (set by
engine.jobs.notify: a webhook or a command), never from inside a transaction."""

from __future__ import annotations

import sys
from datetime import datetime

from sqlalchemy import func, select, text

from db.reads import rows
from db.tables import ALERT, EXPERIMENT, RUN, utcnow
from db.states import ALERT_KINDS, ALERT_LEVELS, LIVE, PROGRESS_ORDER

STATUS_ALERTS = {"done": "run_done", "failed": "run_failed", "lost": "run_lost"}  # what a run's end raises


def reason(error: str) -> str:
    """The line of a run's error that says why: a traceback's last (the exception), else the first (what marked
    it lost or failed; a log tail follows it)."""
    lines = [line.strip() for line in (error or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


class Alerts:
    """Mixed into Store, which provides session() (writes) and connect() (reads)."""

    alert_hook = None  # callable(list of alert dicts), called after each commit that wrote alerts

    def _insert_alerts(self, s, rows) -> list[dict]:
        """Inside a session: (run_id, kind, text) rows in, the inserted alerts out (as dicts)."""
        from db.models import Alert, as_dict
        objs = [Alert(run_id=run_id, kind=kind, level=ALERT_KINDS[kind], text=body, created_at=utcnow())
                for run_id, kind, body in rows]
        s.add_all(objs)
        s.flush()
        return [as_dict(a) for a in objs]

    def _raised(self, alerts: list[dict]) -> None:
        if alerts and self.alert_hook is not None:
            try:
                self.alert_hook(alerts)
            except Exception as e:  # delivery is best effort: never the reason a status change fails
                print(f"xlqa: could not hand alerts to the notifier: {e}", file=sys.stderr)

    def _end_alerts(self, s, run_id: int, status: str, error: str, kind: str | None) -> list[dict]:
        """Inside the transaction that ended a run: its alert, and the sweep's when it was the sweep's last."""
        run_kind, experiment, sweep = s.execute(select(RUN.c.kind, EXPERIMENT.c.name, RUN.c.sweep).join(EXPERIMENT)
                                                .where(RUN.c.id == run_id)).one()
        rows = []
        if kind:
            why = reason(error)
            rows.append((run_id, kind, f"run {run_id} ({run_kind} of {experiment!r}) {status}"
                                       + (f": {why}" if why else "")))
        if sweep:
            if s.bind.dialect.name == "postgresql":
                # two runs of a sweep ending at once: the second waits here and then sees the first's commit,
                # so exactly one of them finds no live run left
                s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:sweep))"), {"sweep": sweep})
            counts = dict(s.execute(select(RUN.c.status, func.count(RUN.c.id)).where(RUN.c.sweep == sweep)
                                    .group_by(RUN.c.status)).all())
            if not any(counts.get(st) for st in LIVE):
                parts = ", ".join(f"{counts[st]} {st}" for st in PROGRESS_ORDER if counts.get(st))
                rows.append((run_id, "sweep_done", f"sweep {sweep!r} ended: {parts} of {sum(counts.values())} runs"))
        return self._insert_alerts(s, rows)

    def add_alert(self, run_id: int, kind: str, body: str, once_since: datetime | None = None) -> dict | None:
        """One alert; with `once_since`, not if the run has one of that kind since then (None: it had)."""
        with self.session() as s:
            if once_since is not None and s.scalar(select(func.count(ALERT.c.id)).where(
                    ALERT.c.run_id == run_id, ALERT.c.kind == kind, ALERT.c.created_at >= once_since)):
                return None
            alert = self._insert_alerts(s, [(run_id, kind, body)])[0]
        self._raised([alert])
        return alert

    def alerts(self, run_id: int | None = None, after_id: int = 0, limit: int | None = None,
               min_level: str = "info") -> list[dict]:
        """Alerts oldest first: with `limit`, the newest `limit` of them; `after_id`: only newer than that id."""
        q = select(ALERT).where(ALERT.c.id > after_id,
                                ALERT.c.level.in_(ALERT_LEVELS[ALERT_LEVELS.index(min_level):]))
        if run_id is not None:
            q = q.where(ALERT.c.run_id == run_id)
        with self.connect() as conn:
            newest = rows(conn.execute(q.order_by(ALERT.c.id.desc()).limit(limit)))
        return newest[::-1]

    def alert_badges(self, run_ids) -> dict[int, tuple[int, str]]:
        """run id -> (how many warnings and errors it has, the worst level): the badge of a runs table."""
        worst: dict[int, tuple[int, str]] = {}
        with self.connect() as conn:
            for run_id, level, n in conn.execute(select(ALERT.c.run_id, ALERT.c.level, func.count(ALERT.c.id))
                                              .where(ALERT.c.run_id.in_(list(run_ids)), ALERT.c.level != "info")
                                              .group_by(ALERT.c.run_id, ALERT.c.level)):
                count, top = worst.get(run_id, (0, level))
                worst[run_id] = (count + n, max(top, level, key=ALERT_LEVELS.index))
        return worst
