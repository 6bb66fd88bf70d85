"""What a run needs to be redone exactly: git commit, package versions and the hub revisions that `hub:NAME`
sources read (the seed is in the config)."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("xlqa", "torch", "transformers", "tokenizers", "datasets", "accelerate", "numpy", "sqlalchemy")


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    from engine.data.hub import pinned_sources
    out.update(pinned_sources())   # "hub:xquad": "google/xquad@<revision>"; the load log names the commit read
    return out


def with_sources_read(recorded: dict[str, str], upstream: dict[str, str] | None = None) -> dict[str, str]:
    """A run's versions with each `hub:NAME` it (or the run it depends on: a training run reads the sample
    run's file) actually read: `repo@commit`, the resolved commit, in place of the branch pinned at launch."""
    from engine.data.hub import sources_read
    inherited = {k: v for k, v in (upstream or {}).items() if k.startswith("hub:")}
    return {**recorded, **inherited, **sources_read()}


def git_commit() -> str:
    try:
        root = Path(__file__).resolve().parents[2]
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if sha and dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""
