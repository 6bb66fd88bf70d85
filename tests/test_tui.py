"""The dashboard driven by pilots against a database filled through the real store."""

import pytest

from engine.jobs import launch as launch_module
from tests.tui_fixtures import filled_store
from xlqa_tui.app import XlqaApp
from xlqa_tui.screens.matrix import MatrixScreen
from xlqa_tui.screens.new_experiment import NewExperimentScreen
from xlqa_tui.screens.run_detail import RunDetailScreen
from xlqa_tui.widgets.matrix_table import MatrixTable
from xlqa_tui.widgets.runs_table import RunsTable


@pytest.fixture
def store(tmp_path):
    return filled_store(f"sqlite:///{tmp_path / 'tui.db'}")


def table_ids(app) -> list[str]:
    return [rk.value for rk in app.screen.query_one(RunsTable).rows]


async def test_runs_table_lists_filters_and_sorts(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        assert table_ids(app) == ["4", "3", "2", "1"]
        await pilot.press("slash", *"sweep")
        await pilot.pause(0.5)
        assert table_ids(app) == ["4"]
        await pilot.press("enter", "escape")
        app.screen.query_one("#filter").value = ""
        await pilot.pause(0.5)
        await pilot.press("f")          # running + queued
        await pilot.pause(0.5)
        assert table_ids(app) == ["4"]


async def test_new_metric_rows_appear_live(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        store.update_run(4, status="running", step=30, total_steps=120)
        await pilot.pause(2.0)
        row = app.screen.query_one(RunsTable).get_row("4")
        assert str(row[3]) == "running" and "25%" in str(row[4])


async def test_launch_from_the_form_creates_jobs(store, monkeypatch):
    started = []
    monkeypatch.setattr(launch_module, "ensure_scheduler", lambda s, *a, **k: started.append(s))
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await pilot.pause(0.3)
        assert isinstance(app.screen, NewExperimentScreen)
        temp = app.screen.query_one("#f-distill-temperature")
        temp.value = "-1"
        await pilot.pause(0.2)
        assert "distill.temperature" in str(app.screen.query_one("#error-distill-temperature").render())
        await pilot.press("ctrl+s")
        assert len(store.list_runs()) == 4          # nothing queued while invalid
        temp.value = "3"
        app.screen.query_one("#f-name").value = "from-form"
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
    runs = store.list_runs(text="from-form")
    assert sorted(r["kind"] for r in runs) == ["distill", "evaluate", "sample"]
    assert all(r["config"]["distill"]["temperature"] == 3.0 for r in runs)
    assert started


async def test_cancel_changes_the_status(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("x")                      # the cursor is on run 4, queued
        await pilot.pause(0.5)
    assert store.get_run(4)["status"] == "cancelled"


async def test_matrix_shows_the_stored_cells_and_toggles_em(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("down", "m")
        await pilot.pause(0.3)
        assert isinstance(app.screen, MatrixScreen)
        table = app.screen.query_one(MatrixTable)
        assert str(table.get_row("en")[1]).strip() == "50.0"     # f1 of (en, en)
        assert str(table.get_row("es")[1]).strip() == "52.0"     # (es, en): 50 + 7 - 5
        summary = str(app.screen.query_one("#matrix-summary").render())
        assert "G-XLT (cross cells)" in summary
        await pilot.press("e")
        assert str(app.screen.query_one(MatrixTable).get_row("en")[1]).strip() == "30.0"


async def test_detail_and_delete_with_confirmation(store):
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("down", "down", "enter")
        await pilot.pause(0.8)
        assert isinstance(app.screen, RunDetailScreen)
        assert "best dev G-XLT F1 44.25" in str(app.screen.query_one("#detail-top").render())
        await pilot.press("escape", "up", "up", "d")
        await pilot.pause(0.2)
        await pilot.press("n")
        assert store.get_run(4) is not None
        await pilot.press("d", "y")
        await pilot.pause(0.3)
    assert store.get_run(4) is None


def test_snapshot_runs_80x24(snap_compare, store):
    assert snap_compare(XlqaApp(store), terminal_size=(80, 24), run_before=_settle)


def test_snapshot_matrix_wide(snap_compare, store):
    async def open_matrix(pilot):
        await _settle(pilot)
        await pilot.press("down", "m")
        await pilot.pause(0.3)
    assert snap_compare(XlqaApp(store), terminal_size=(140, 36), run_before=open_matrix)


async def _settle(pilot):
    await pilot.pause(0.6)


async def test_runs_page_through_sql(tmp_path, monkeypatch):
    from xlqa_tui.screens import runs as runs_screen
    monkeypatch.setattr(runs_screen, "PAGE", 3)
    store = filled_store(f"sqlite:///{tmp_path / 'p.db'}")
    for _ in range(3):
        store.create_run(store.create_experiment("more"), "sample", {})
    app = XlqaApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        assert table_ids(app) == ["7", "6", "5"]
        await pilot.press("greater_than_sign")
        await pilot.pause(0.5)
        assert table_ids(app) == ["4", "3", "2"]
        await pilot.press("less_than_sign")
        await pilot.pause(0.5)
        assert table_ids(app) == ["7", "6", "5"]


async def test_compare_shows_whether_the_difference_is_real_and_the_matrix_marks_cells(store):
    from tests.tui_fixtures import add_compared_run
    from xlqa_tui.screens.compare import CompareScreen
    other = add_compared_run(store)
    app = XlqaApp(store)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.3)
        app.push_screen(CompareScreen([3, other]))
        await pilot.pause(3.0)
        table = app.screen.query_one("#compare-significance")
        row = [str(c) for c in table.get_row_at(0)]
        assert row[0] == f"{other} vs 3" and row[1].startswith("+") and "[" in row[2]
        app.pop_screen()
        app.push_screen(MatrixScreen(other, 3))
        await pilot.pause(3.0)
        matrix = app.screen.query_one(MatrixTable)
        de_ar = str(matrix.get_cell("de", "ar"))
        assert de_ar.endswith("*") and "+20.0" in de_ar
        assert not str(matrix.get_cell("en", "en")).endswith("*")
