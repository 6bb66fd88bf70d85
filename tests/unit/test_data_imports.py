"""`engine.data` and its light modules import without `datasets` (about 0.8 s): the CLI imports
engine.data.errors for every command, `--help` included."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # tests/<layer>/this file


def test_engine_data_does_not_import_datasets_until_a_table_is_made():
    code = ("import sys\n"
            "import engine.data, engine.data.errors, engine.data.hub, engine.data.offsets, engine.data.fetch\n"
            "from engine.data import DataError\n"
            "assert 'datasets' not in sys.modules, 'datasets was imported'\n"
            "from engine.data import load_path\n"
            "assert 'datasets' in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
