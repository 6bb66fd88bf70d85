"""`xlqa-run demo`: a teacher, then a student distilled from it, scored on the same synthetic 7x7 matrix."""

import dataclasses
import io

import pytest
from rich.console import Console

from db.store import Store
from engine.jobs.demo import demo_configs, run_demo
from engine.scoring.summary import summarize


def test_the_demo_scores_teacher_and_student_on_the_same_questions():
    teacher, student = demo_configs()
    assert teacher.eval.dev == "" and student.eval.dev == "synthetic"    # the teacher is scored once, at the end
    assert dataclasses.replace(teacher.eval, dev="synthetic") == student.eval   # the same suite and questions
    assert teacher.data.synthetic_paragraphs > student.data.synthetic_paragraphs  # a teacher trained on more


@pytest.mark.slow
def test_the_demo_student_beats_its_teacher_on_g_xlt(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))   # the runs' folders
    store = Store(str(tmp_path / "xlqa.db"))
    from engine.cli.render.demo import DemoConsole
    result = run_demo(store, DemoConsole(store, Console(file=io.StringIO())))
    assert result.status == 0
    teacher, student = result.teacher_eval, result.student_eval
    cells = {run: store.eval_cells(run, "synthetic") for run in (teacher, student)}
    for run in (teacher, student):
        assert len(cells[run]) == 49 and {c["n"] for c in cells[run]} == {30}
    before, after = summarize(cells[teacher]), summarize(cells[student])
    assert after["gxlt_cross"] > before["gxlt_cross"] + 5    # the demo's point: distillation buys G-XLT
    assert after["gxlt"] > before["gxlt"] + 5
