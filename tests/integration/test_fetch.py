"""`data fetch` at the library level, against a loopback HTTP server: an archive extraction killed with SIGKILL
never looks complete, wrong files are refused with a message (size known or not), and SQuAD dev comes alone."""

import gzip
import hashlib
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from engine.data import fetch as fetch_module
from engine.data.errors import DataError

REPO = Path(__file__).resolve().parents[2]  # tests/<layer>/this file


def mlqa_zip(root: Path, fixture_data: Path) -> tuple[fetch_module.Release, dict[str, bytes]]:
    """An archive in MLQA_V1.zip's layout (dev and test members, a LICENSE), and the release that pins it."""
    members = {}
    for f in sorted((fixture_data / "mlqa/dev").glob("*.json.gz")):
        members[f"dev/{f.name[:-3]}"] = gzip.decompress(f.read_bytes())
        members[f"test/{f.name[:-3].replace('dev-', 'test-')}"] = gzip.decompress(f.read_bytes())
    with zipfile.ZipFile(root / "MLQA_V1.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("MLQA_V1/LICENSE", "CC BY-SA 3.0\n")
        for name, data in members.items():
            z.writestr(f"MLQA_V1/{name}", data)
    data = (root / "MLQA_V1.zip").read_bytes()
    official = fetch_module.DATASETS["mlqa"][0]
    release = fetch_module.Release(official.url, official.path, len(data), hashlib.sha256(data).hexdigest(),
                                   official.members)
    return release, members


def assert_complete_mlqa(data: Path, members: dict[str, bytes]):
    written = {f"{p.parent.name}/{p.name}": p.read_bytes() for p in (data / "mlqa").glob("*/*.json")}
    assert written == members
    assert (data / "mlqa" / fetch_module.COMPLETE).is_file()


CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from engine.data import fetch as f
f.DATASETS = {{"mlqa": [f.Release(*{release!r})]}}
real, copied = f.shutil.copyfileobj, []
def slow_copy(src, dst, *a):  # lets the parent kill it with SIGKILL between two members, deterministically
    real(src, dst, *a)
    copied.append(1)
    if len(copied) == 3:
        dst.flush()
        open({ready!r}, "w").close()
        time.sleep(60)
f.shutil.copyfileobj = slow_copy
f.fetch(["mlqa"], {data!r}, {url!r})
"""


def test_an_extraction_killed_mid_way_never_looks_complete(http_root, fixture_data, tmp_path, monkeypatch):
    root, url = http_root
    release, members = mlqa_zip(root, fixture_data)
    data, ready = tmp_path / "data", tmp_path / "ready"
    script = CHILD.format(repo=str(REPO), release=(release.url, release.path, release.size, release.sha256,
                                                   release.members), ready=str(ready), data=str(data), url=url)
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "the fetch ended before it was killed"
            assert time.monotonic() < deadline, "the fetch never reached its third member"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    extracted = list((data / ".partial").rglob("*.json"))
    assert len(extracted) == 3                                # it was killed mid-way
    assert not (data / "mlqa").exists()                       # and nothing is in place
    monkeypatch.setattr(fetch_module, "DATASETS", {"mlqa": [release]})
    lines = fetch_module.fetch(["mlqa"], data, url)
    assert lines == [f"mlqa: {release.size:,} bytes, sha256 verified"]
    assert_complete_mlqa(data, members)
    assert not (data / ".partial").exists()
    assert fetch_module.fetch(["mlqa"], data, url) == ["mlqa: already there"]


def test_a_folder_left_by_an_old_half_extraction_is_redone_and_kept_aside(http_root, fixture_data, tmp_path, monkeypatch):
    """Before the staging folder, members went straight into mlqa/dev: a cut extraction left a non-empty folder
    that counted as complete forever."""
    root, url = http_root
    release, members = mlqa_zip(root, fixture_data)
    monkeypatch.setattr(fetch_module, "DATASETS", {"mlqa": [release]})
    data = tmp_path / "data"
    (data / "mlqa/dev").mkdir(parents=True)
    (data / "mlqa/test").mkdir()                                # every dev file, and a test file cut short
    for name in [n for n in members if n.startswith("dev/")]:
        (data / "mlqa" / name).write_bytes(members[name])
    cut = next(n for n in members if n.startswith("test/"))
    (data / "mlqa" / cut).write_bytes(members[cut][:100])
    lines = fetch_module.fetch(["mlqa"], data, url)
    assert len(lines) == 1 and "kept as mlqa.incomplete-" in lines[0]
    assert_complete_mlqa(data, members)
    kept = next(data.glob("mlqa.incomplete-*"))
    assert (kept / cut).read_bytes() == members[cut][:100]       # nothing of the user's is deleted


def test_a_wrong_file_without_a_published_size_is_named(http_root, tmp_path, monkeypatch):
    root, url = http_root
    (root / "x.json").write_bytes(b'{"data": []}')
    monkeypatch.setattr(fetch_module, "DATASETS", {"xquad": [
        fetch_module.Release("https://example.org/x.json", "xquad/x.json", None, "0" * 64)]})
    with pytest.raises(DataError, match=r"x.json: wrong file: 12 bytes, sha256 \w+ \(expected unknown bytes, sha256 0{64}\)"):
        fetch_module.fetch(["xquad"], tmp_path / "d", url)
    assert not (tmp_path / "d/xquad/x.json").exists() and not (tmp_path / "d/.partial/x.json").exists()


def test_squad_dev_alone(http_root, fixture_data, tmp_path, monkeypatch):
    root, url = http_root
    dev = gzip.decompress((fixture_data / "squad/dev-v1.1.json.gz").read_bytes())
    (root / "dev-v1.1.json").write_bytes(dev)                  # no train file is served: asking for it fails
    official_dev, official_train = fetch_module.DATASETS["squad"]
    monkeypatch.setitem(fetch_module.DATASETS, "squad", [
        fetch_module.Release(official_dev.url, official_dev.path, len(dev), hashlib.sha256(dev).hexdigest(), split="dev"),
        official_train])
    data = tmp_path / "data"
    assert fetch_module.fetch(["squad"], data, url, splits=("dev",)) == [f"squad/dev-v1.1.json: {len(dev):,} bytes, sha256 verified"]
    assert (data / "squad/dev-v1.1.json").read_bytes() == dev and not (data / "squad/train-v1.1.json").exists()
    with pytest.raises(DataError, match="train-v1.1.json: download failed"):
        fetch_module.fetch(["squad"], data, url)
    with pytest.raises(DataError, match="unknown split"):
        fetch_module.fetch(["squad"], data, url, splits=("test",))
    # the command line passes --split through
    from click.testing import CliRunner
    from engine.cli import main
    cli_data = tmp_path / "cli"
    result = CliRunner().invoke(main, ["data", "fetch", "squad", "--split", "dev", "--to", str(cli_data), "--mirror", url])
    assert result.exit_code == 0, result.output
    assert "sha256 verified" in result.output and not (cli_data / "squad/train-v1.1.json").exists()


def test_every_official_file_has_a_pinned_size_and_checksum():
    releases = [r for rs in fetch_module.DATASETS.values() for r in rs]
    assert len(releases) == 12 + 2 + 1 + 2
    assert all(isinstance(r.size, int) and len(r.sha256 or "") == 64 for r in releases)
    by_url = {r.url.rsplit("/", 1)[1]: (r.size, r.sha256[:12]) for r in releases}
    assert by_url["MLQA_V1.zip"] == (75_719_050, "246e8089933d")
    assert by_url["tydiqa-goldp-v1.1-train.json"] == (58_004_076, "cefc8e09ff25")
