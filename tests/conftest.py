import functools
import gc
import http.server
import json
import os
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "data"     # small real-data extracts, committed (tests/data/README.md)
SHARED_DATA = Path(os.environ.get("XLQA_SHARED_DATA", REPO.parent / "shared" / "data"))
REQUIRE_FULL_DATA = os.environ.get("XLQA_REQUIRE_FULL_DATA", "") not in ("", "0")


REQUIRE_CUDA = os.environ.get("XLQA_REQUIRE_CUDA", "") not in ("", "0")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist's workers share the machine's cores: one torch (OpenMP) thread each, or their spinning
    # threads thrash (a 25 s training took 390 s at 4 workers of 2 threads on 2 cores). A job's worker
    # inherits it (worker_env lets a set OMP_NUM_THREADS win), and jobs_helpers.torch_threads() follows the
    # same rule, so an in-process baseline still sums its floats like the worker it is compared with.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# The suite's heap holds torch, transformers, textual and the test modules: some 500,000 objects that every
# full garbage collection walks again (28 of them took 12 s of CPU in a 63 s `-m "not slow"` run). So
# collections come rarer, and once the tests are collected what is alive is frozen out of them (gc.freeze).
gc.set_threshold(10_000, 20, 50)


@pytest.hookimpl(optionalhook=True)   # a hook of pytest-xdist's: unknown (and fine) under -p no:xdist
def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject's addopts): a worker more than the cores, as many tests wait on processes they
    started (a scheduler, a worker, Slurm) rather than compute; at most 8, each holding torch and textual."""
    return min(8, (os.cpu_count() or 1) + 1)


def pytest_collection_finish(session):
    gc.collect()
    gc.freeze()


def cuda_missing() -> str:
    """Why the CUDA tests cannot run here ('' when they can)."""
    import torch
    if torch.cuda.is_available():
        return ""
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
    return (f"needs a CUDA GPU: torch {torch.__version__} ({build}) sees none"
            + ("" if torch.version.cuda else "; install a CUDA build of torch on a GPU machine"))


def pytest_runtest_setup(item):
    """`@pytest.mark.cuda` tests skip with the reason on a machine without CUDA; a GPU check that sets
    XLQA_REQUIRE_CUDA=1 fails on them instead, so a broken driver cannot pass as 'skipped'."""
    if item.get_closest_marker("cuda") is not None:
        reason = cuda_missing()
        if reason and REQUIRE_CUDA:
            pytest.fail(reason + " [XLQA_REQUIRE_CUDA is set]", pytrace=False)
        if reason:
            pytest.skip(reason)


@pytest.fixture(autouse=True)
def _away_from_the_checkout(tmp_path_factory, monkeypatch):
    """Every test runs in an empty working directory, with its own XDG data folder: a relative path or a
    default folder written by a test lands there, never in the checkout or the user's home (CI fails when
    the suite leaves a file in the checkout). Tests reach repository files through REPO, never through `.`."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


@pytest.fixture(scope="session")
def fixture_data() -> Path:
    """The committed extracts of XQuAD, MLQA-dev, SQuAD v1.1 dev and TyDiQA-GoldP dev (same layout)."""
    return FIXTURES


@pytest.fixture(scope="session")
def full_data() -> Path:
    """The full datasets. Absent on a user's clone: the test skips, unless CI requires them."""
    if not (SHARED_DATA / "xquad").exists():
        message = (f"needs the full datasets at {SHARED_DATA}: set XLQA_SHARED_DATA to a folder holding "
                   "xquad/ mlqa/dev/ squad/ tydiqa/ (see ../shared/data/README.md)")
        if REQUIRE_FULL_DATA:
            pytest.fail(message + " [XLQA_REQUIRE_FULL_DATA is set]")
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def synthetic_small():
    from engine.synthetic import generate
    return generate(40, seed=3)


@pytest.fixture(scope="session")
def tiny_tokenizer(synthetic_small):
    from engine.modeling import train_wordpiece
    return train_wordpiece(list(synthetic_small["context"]) + list(synthetic_small["question"]), vocab_size=2000)


@functools.cache
def worker_database(url: str) -> str:
    """The PostgreSQL database of this pytest-xdist worker (`<name>_gw0`, created once), or the server's
    own under a plain `pytest`: each worker empties its database's schema between tests, never another's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    from sqlalchemy import create_engine, text
    from tests.helpers import pg_database_url
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{engine.url.database}_{worker}"
    with engine.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return pg_database_url(url, name)


STORE_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("XLQA_TEST_PG_URL") else [])


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, and PostgreSQL when XLQA_TEST_PG_URL is set (CI sets it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'xlqa.db'}"
    from sqlalchemy import create_engine, text
    url = worker_database(os.environ["XLQA_TEST_PG_URL"])
    engine = create_engine(url)
    with engine.begin() as conn:  # every table, views and the migration version included
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    """A loopback HTTP server over a temporary folder: (folder, base URL). Stands in for the release hosts."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    # shutdown() waits for the loop's next poll: 0.5 s a test at the default interval
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A job test's folder and store: the CLI finds the database through XLQA_DB; two CPU slots."""
    from db import Store
    db = tmp_path / "xlqa.db"
    monkeypatch.setenv("XLQA_DB", str(db))
    monkeypatch.setenv("XLQA_CPU_SLOTS", "2")
    monkeypatch.setenv("XLQA_ALERTS_CONFIG", str(tmp_path / "no-alerts.toml"))  # never the user's own notifier
    for key in ("WEBHOOK", "COMMAND", "MIN_LEVEL", "TIMEOUT_S"):
        monkeypatch.delenv(f"XLQA_ALERT_{key}", raising=False)
    monkeypatch.setenv("XLQA_SCHEDULER_POLL_S", "0.2")   # the next run starts within 0.2 s, not 1 s
    return tmp_path, Store(str(db))


@pytest.fixture
def webhook():
    """A loopback HTTP server that keeps the JSON of every POST: (URL, list of the bodies received)."""
    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
