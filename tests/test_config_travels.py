"""The config travels once: its metadata drives the checks and the form, launch keys are set apart from the
experiment, a run's overrides rebuild its config, and a published model folder says where it came from."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "datasets", "transformers")


def test_loading_a_config_imports_no_heavy_library():
    probe = ("import json, sys; from engine.config import load_toml; load_toml('examples/quickstart.toml'); "
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
