"""A results database filled through the real store API, with fixed timestamps (stable snapshots)."""

from datetime import datetime

from db import Store
from engine.config import ExperimentConfig

LANGS = ["en", "es", "de", "ar", "hi", "vi", "zh"]
T0 = datetime(2026, 1, 2, 3, 4, 5)


def filled_store(url: str) -> Store:
    store = Store(url)
    cfg = ExperimentConfig().to_dict()
    exp = store.create_experiment("paper-xquad")
    sample = store.create_run(exp, "sample", cfg, output_dir="/nonexistent/sample")
    distill = store.create_run(exp, "distill", cfg, depends_on=sample, output_dir="/nonexistent/distill")
    evaluate = store.create_run(exp, "evaluate", cfg, depends_on=distill, output_dir="/nonexistent/eval")
    queued = store.create_run(store.create_experiment("sweep-T3"), "distill", cfg, output_dir="/nonexistent/q")
    for rid in (sample, distill, evaluate):
        store.update_run(rid, status="done", started_at=T0, ended_at=T0, step=100, total_steps=100)
    store.update_run(queued, created_at=T0)
    metrics = []
    for step in range(1, 101):
        metrics += [("loss", "", step, 3.0 / step ** 0.3, T0), ("loss_ce", "", step, 2.0 / step ** 0.3, T0),
                    ("loss_kl", "", step, 1.0 / step ** 0.3, T0), ("coef", "", step, 0.5 + step / 400, T0)]
    metrics += [("dev_gxlt_f1", "", 50, 41.5, T0), ("dev_gxlt_f1", "", 100, 44.25, T0)]
    from engine.jobs.store_sink import histogram_row
    hists = [histogram_row("coef", s, [0.1 + 0.005 * s, 0.5, 0.6, 0.9]) for s in range(10, 101, 10)]
    pairs = [(1, "teacher_coef", q, c, 0.9 if q == c else 0.6, 10) for q in LANGS for c in LANGS]
    cells = [{"step": 100, "checkpoint": "best", "suite": "mlqa-dev", "split": "", "lang_q": q, "lang_c": c, "n": 100,
              "exact_match": 30.0 + i, "f1": 50.0 + i - (5 if q != c else 0)}
             for i, (q, c) in enumerate((q, c) for q in LANGS for c in LANGS)]
    store.write_batch(distill, metrics=metrics, histograms=hists, pairs=pairs)
    store.write_batch(evaluate, evals=cells, questions=questions(cells),
                      metrics=[("mlqa-dev_gxlt_f1", "", 100, 47.5, T0), ("mlqa-dev_xlt_f1", "", 100, 53.0, T0)])
    return store


def questions(cells: list[dict], per_cell: int = 20) -> list[dict]:
    """Per-question rows whose mean is each cell's F1 (and EM), as an evaluation writes them."""
    spread = [0.05 * (i // 2 % 3 + 1) * (1 if i % 2 else -1) for i in range(per_cell)]   # pairs that cancel
    return [{"step": c["step"], "checkpoint": c["checkpoint"], "suite": c["suite"], "lang_q": c["lang_q"],
             "lang_c": c["lang_c"], "qid": f"q{i}", "exact_match": c["exact_match"] / 100,
             "f1": c["f1"] / 100 + spread[i]} for c in cells for i in range(per_cell)]


def add_compared_run(store: Store) -> int:
    """A second evaluation of the same cells, better in the de-ar cell only."""
    cfg = ExperimentConfig().to_dict()
    run = store.create_run(store.create_experiment("paper-xquad-T4"), "evaluate", cfg, output_dir="/nonexistent/e2")
    store.update_run(run, status="done", started_at=T0, ended_at=T0, created_at=T0)
    cells = [{**c, "f1": c["f1"] + (20 if (c["lang_q"], c["lang_c"]) == ("de", "ar") else 0)}
             for c in store.eval_cells(3)]
    cells = [{k: c[k] for k in ("step", "checkpoint", "suite", "split", "lang_q", "lang_c", "n", "exact_match", "f1")}
             for c in cells]
    store.write_batch(run, evals=cells, questions=questions(cells))
    return run


async def until(pilot, predicate, what: str = "the condition", timeout: float = 20.0, show=None) -> None:
    """Let the app run until predicate() holds: a wait on a condition, never a fixed pause, so a loaded machine
    only makes the test slower, not red. Fails naming what it waited for, and with what `show()` returns then
    (such as the screen's text)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()                 # process pending messages first (a worker's result arrives as one)
        try:
            if predicate():
                return
        except Exception:                   # a widget not mounted yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                 + (f"; then:\n{show()}" if show is not None else ""))
        await pilot.pause(0.02)


def runs_loaded(app) -> bool:
    """The runs screen is on top and its first read of the store has landed in the table."""
    from xlqa_tui.screens.runs import RunsScreen
    from xlqa_tui.widgets.runs_table import RunsTable
    screen = app.screen
    return isinstance(screen, RunsScreen) and bool(screen.total) and screen.query_one(RunsTable).row_count > 0


async def pushed_form(pilot):
    """The new-experiment form pushed on the app, once it is on top and laid out."""
    from xlqa_tui.screens.new_experiment import NewExperimentScreen
    pilot.app.push_screen(NewExperimentScreen())
    await until(pilot, lambda: isinstance(pilot.app.screen, NewExperimentScreen), "the form")
    await settled(pilot)
    return pilot.app.screen


async def settled(pilot) -> None:
    """No worker running and no message pending (twice: a worker's result may start another worker)."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def screen_text(app) -> str:
    """What the terminal shows now, as plain text lines (the compositor's strips)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def screen_dump(app) -> str:
    """The screen's text and the column widths of its tables (label, width, measured width, auto): what a
    timed-out wait on a table shows."""
    from textual.widgets import DataTable
    widths = {t.id: [(str(c.label), c.width, c.content_width, c.auto_width) for c in t.columns.values()]
              for t in app.screen.query(DataTable)}
    return screen_text(app) + f"\ncolumns: {widths}"
