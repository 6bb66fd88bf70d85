"""Commands that only read the store start without the heavy libraries: no torch, datasets or transformers
for `--help`, `list`, `show`, `logs`, `query`, `matrix` and the dashboard's `--once`, nor sqlalchemy.orm or numpy
(benchmarks/bench_startup.py times them: at most 0.3 s each on two cores)."""

import json
import subprocess
import sys

import pytest

from tests.tui_fixtures import filled_store

HEAVY = ("torch", "datasets", "transformers", "alembic", "textual")
# what a command that only reads does without, besides: the reads run on Core connections (db/tables.py), the ORM
# is the writes' (~60 ms of import); the summary's mean is numpy's pairwise sum in plain Python (numpy: ~40 ms)
READS_WITHOUT = (*HEAVY, "sqlalchemy.orm", "numpy")
# runs a command in this process as its entry point would, then names the watched modules it imported
PROBE = """
import json, runpy, sys
watch, module, sys.argv = sys.argv[1].split(","), sys.argv[2], sys.argv[2:]
try:
    runpy.run_module(module, run_name="__main__")
except SystemExit as e:
    code = e.code
else:
    code = 0
print(json.dumps({"code": code, "heavy": sorted(m for m in watch if m in sys.modules)}), file=sys.stderr)
"""


def imported(module: str, *args: str, watch: tuple[str, ...] = HEAVY) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, ",".join(watch), module, *args], capture_output=True,
                          text=True, timeout=120)
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("startup") / "x.db"
    filled_store(f"sqlite:///{path}")
    return str(path)


@pytest.mark.parametrize("args", [["--help"], ["list"], ["show", "2"], ["logs", "2"], ["matrix", "3"],
                                  ["query", "SELECT id FROM run"]], ids=lambda a: a[0])
def test_a_reading_command_imports_no_heavy_library(db, args):
    out = imported("engine.cli", *args, *([] if args == ["--help"] else ["--db", db]), watch=READS_WITHOUT)
    assert out == {"code": 0, "heavy": []}


def test_the_dashboards_first_paint_imports_no_heavy_library(db):
    assert imported("xlqa_tui.launch", "--once", "--db", db, watch=READS_WITHOUT) == {"code": 0, "heavy": []}


def test_the_fast_schema_check_knows_the_head_alembic_knows():
    from db.migrate import head_of_files, head_revision
    assert head_of_files() == head_revision()


def test_help_opens_no_store_so_imports_no_sqlalchemy():
    """--help reads nothing: a module constant (such as the cost columns) imported from db.reads pulled in
    SQLAlchemy and tripled its start (0.07 s -> 0.32 s); such constants live in db.states."""
    assert imported("engine.cli", "--help", watch=("sqlalchemy",)) == {"code": 0, "heavy": []}


def test_a_sample_worker_imports_neither_torch_nor_transformers(tmp_path, monkeypatch):
    """Sampling is JSON and a datasets table: its worker skips the ~4 CPU-seconds of importing torch and
    transformers that every training and evaluation worker pays."""
    from db.store import Store
    from tests.jobs_helpers import launch, write_config
    url = f"sqlite:///{tmp_path / 'xlqa.db'}"
    monkeypatch.setenv("XLQA_DB", url)
    ids = launch(write_config(tmp_path, "sample-only", eval={"suites": []}), "--no-scheduler")
    out = imported("engine.jobs.worker", "--db", url, "--run", str(ids[0]))
    assert out == {"code": 0, "heavy": ["datasets"]}
    assert Store(url).get_run(ids[0])["status"] == "done"


def test_every_command_is_found_in_the_module_the_lazy_group_imports_for_it():
    """`xlqa-run NAME` imports only COMMAND_MODULES' module of NAME: a command added to a module but not to the
    table, or listed under the wrong module, would be missing or slow."""
    import importlib

    from engine.cli.base import COMMAND_MODULES, main
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    assert {name: cmd.callback.__module__ for name, cmd in main.commands.items()} == {
        name: module for module, names in COMMAND_MODULES.items() for name in names}
