"""`xlqa-run data fetch mlqa xquad tydiqa squad --to DIR`: the official release files, laid out as
eval.data_dir reads them (DIR/mlqa/{dev,test}, DIR/xquad, DIR/tydiqa/{dev,train}, DIR/squad), with sizes and
checksums checked, for a GPU box with internet.

Every file has a pinned size and sha256 (docs/data.md says where each comes from). A file whose size or
checksum is wrong is deleted, and the error names it. Nothing half-made is ever in place: a download goes to
DIR/.partial and is renamed when whole; an archive is extracted into DIR/.partial and its folder renamed into
place when every member is written, with a `.complete` marker inside, so an interrupted fetch (even kill -9)
leaves nothing that looks complete, and the next fetch starts that file again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.request
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from engine.data.errors import DataError

XQUAD_COMMIT = "7d30520c717524000f0d9d2f9c10a069acd9d285"
XQUAD_SHA256 = {
    "ar": (1582988, "abdabd7afed5c635d99cca0f3f0d0c9d9ed0bc77451e963c2e4e0638c29e486d"),
    "de": (669810, "990b5d746746ed65ed4702ea5f35f99ffa4e2f1c390c07d003642acd937916f9"),
    "el": (1918889, "821cf0f88e73fa258fd2f548b19b6ec39f7025059e16f6f9fc8cd797c9c3663e"),
    "en": (609383, "e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29"),
    "es": (684322, "dcbae93ec3a9f4b9e78fd834a171d6f96c1a875e10e15b7530b7e4ef4971e37e"),
    "hi": (1680538, "df2cce3532b37e9beb8979704b5c9a4bf874358f105395a298b89427b43b9d24"),
    "ro": (661158, "94f8d54e93ad2b7dd2e76dd921a666b5b8eff2d4379df9f179c42b445f09643f"),
    "ru": (1896368, "208d5b1aa154c52b1b5c5eda16281e455e8fd198cdb9af3f469f0d6037d973bf"),
    "th": (1809143, "5cdda11d0e1e075f7872abf4e6ae830388ce7f617964d542308e9ae4257e0f43"),
    "tr": (729506, "92179a564774b7696100d144c1e10870d0a966b6fccbdd254a65b9d2ab1971cc"),
    "vi": (911401, "f619a1eb11fb42d3ab0834259e488a65f585447ef6154437bfb7199d85161a04"),
    "zh": (808652, "691d0b3359bc6b8faa8de931dfdfe21d50a65861ae348e32a0d1a0190b0c8835"),
}


@dataclass(frozen=True)
class Release:
    url: str
    path: str                    # under DIR; for an archive, the folder its members go to
    size: int | None = None
    sha256: str | None = None
    members: tuple[tuple[str, str], ...] = ()   # archive: (member prefix, folder under `path`)
    split: str | None = None     # dev | train: fetch(splits=...) can leave the others out


# The sizes and sha256 of MLQA, TyDiQA and SQuAD train are those the Hugging Face datasets library recorded for
# these URLs in 2020; XQuAD's and SQuAD dev's were checked against the files' git blob ids.
DATASETS: dict[str, list[Release]] = {
    "xquad": [Release(f"https://raw.githubusercontent.com/google-deepmind/xquad/{XQUAD_COMMIT}/xquad.{lang}.json",
                      f"xquad/xquad.{lang}.json", size, sha) for lang, (size, sha) in XQUAD_SHA256.items()],
    "squad": [Release("https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json", "squad/dev-v1.1.json",
                      4854279, "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9", split="dev"),
              Release("https://rajpurkar.github.io/SQuAD-explorer/dataset/train-v1.1.json", "squad/train-v1.1.json",
                      30288272, "3527663986b8295af4f7fcdff1ba1ff3f72d07d61a20f487cb238a6ef92fd955", split="train")],
    "mlqa": [Release("https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip", "mlqa",
                     75719050, "246e8089933d13007fe80684d5c5c0713d6834cf8b3b4a0ec7c66f0a0d2baac8",
                     members=(("MLQA_V1/dev/", "dev"), ("MLQA_V1/test/", "test")))],
    "tydiqa": [Release("https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-dev.json",
                       "tydiqa/dev/tydiqa-goldp-v1.1-dev.json",
                       5617409, "b286e0f34bc7f52259359989716f369b160565bd12ad8f3a3e311f9b0dbad1c0", split="dev"),
               Release("https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-train.json",
                       "tydiqa/train/tydiqa-goldp-v1.1-train.json",
                       58004076, "cefc8e09ff2548d9b10a678d3a6bbbe5bc036be543f92418819ea676c97be23b", split="train")],
}
SPLITS = ("dev", "train")
CHUNK = 1 << 20
COMPLETE = ".complete"           # inside an extracted folder: the sha256 of the archive it came from


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _present(release: Release, to: Path) -> bool:
    path = to / release.path
    if release.members:
        marker = path / COMPLETE
        return marker.is_file() and (release.sha256 is None or marker.read_text().strip() == release.sha256)
    return path.is_file() and (release.sha256 is None or sha256_of(path) == release.sha256)


def download(url: str, dest: Path, progress=None, timeout: float = 60) -> int:
    """Stream url into dest; progress(done_bytes, total_bytes or None) after every chunk."""
    done = 0
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        while chunk := response.read(CHUNK):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return done


def _bytes(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,}"


def extract(archive: Path, release: Release, to: Path, digest: str) -> Path:
    """The archive's members under to/release.path, all or nothing: written to a folder beside the partial
    download, marked complete, then renamed into place. An earlier folder there is kept, renamed aside."""
    staging = archive.parent / f"{Path(release.path).name}.extracting"
    shutil.rmtree(staging, ignore_errors=True)       # what an interrupted extraction left
    with zipfile.ZipFile(archive) as zf:
        for prefix, folder in release.members:
            (staging / folder).mkdir(parents=True)
            names = [m for m in zf.namelist() if m.startswith(prefix) and m.endswith(".json")]
            if not names:
                raise DataError(archive, f"no {prefix}*.json in the archive", "the release changed; fetch it again")
            for member in names:
                with zf.open(member) as src, open(staging / folder / Path(member).name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    (staging / COMPLETE).write_text(digest + "\n")
    target = to / release.path
    target.parent.mkdir(parents=True, exist_ok=True)
    aside = None
    if target.exists():   # an incomplete folder (no marker): never deleted, it may hold the user's own files
        aside = target.with_name(f"{target.name}.incomplete-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
        target.rename(aside)
    staging.rename(target)
    return aside


def fetch(names: list[str], to: Path, mirror: str | None = None, progress_for=None,
          splits: tuple[str, ...] | None = None) -> list[str]:
    """Fetch the named datasets into `to`; returns one line per file. mirror: a base URL serving the same file
    names (tests use a loopback server). progress_for(name) -> a progress(done, total) callback or None.
    splits: only these of SQuAD's and TyDiQA's files (dev, train); MLQA and XQuAD come whole."""
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        raise DataError(unknown[0], "unknown dataset", f"fetch one of {', '.join(DATASETS)}")
    bad_splits = sorted(set(splits or ()) - set(SPLITS))
    if bad_splits:
        raise DataError(bad_splits[0], "unknown split", f"use {' or '.join(SPLITS)}")
    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    manifest_path = to / "FETCHED.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    lines = []
    for name in names:
        for release in DATASETS[name]:
            if splits and release.split is not None and release.split not in splits:
                continue
            if _present(release, to):
                lines.append(f"{release.path}: already there")
                continue
            url = f"{mirror.rstrip('/')}/{release.url.rsplit('/', 1)[1]}" if mirror else release.url
            partial = to / ".partial" / release.url.rsplit("/", 1)[1]
            partial.parent.mkdir(parents=True, exist_ok=True)
            try:
                size = download(url, partial, progress_for(release.path) if progress_for else None)
            except OSError as e:
                partial.unlink(missing_ok=True)
                raise DataError(url, f"download failed ({e})", "check the network (or --mirror) and run it again") from e
            digest = sha256_of(partial)
            if (release.size is not None and size != release.size) or (release.sha256 and digest != release.sha256):
                partial.unlink()
                raise DataError(url, f"wrong file: {size:,} bytes, sha256 {digest} (expected {_bytes(release.size)} "
                                     f"bytes, sha256 {release.sha256 or 'unknown'})",
                                "the download was cut or the release changed; run it again")
            note = ""
            if release.members:
                aside = extract(partial, release, to, digest)
                partial.unlink()
                note = f"; the folder that was there, incomplete, is kept as {aside.name}" if aside else ""
            else:
                (to / release.path).parent.mkdir(parents=True, exist_ok=True)
                partial.replace(to / release.path)  # whole files only: never a half-written one in place
            manifest[release.path] = {"url": release.url, "bytes": size, "sha256": digest, "verified": bool(release.sha256),
                                      "fetched": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            tmp = manifest_path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(manifest, indent=1))
            tmp.replace(manifest_path)
            check = "sha256 verified" if release.sha256 else f"sha256 {digest[:16]}… (no published checksum: recorded)"
            lines.append(f"{release.path}: {size:,} bytes, {check}{note}")
    shutil.rmtree(to / ".partial", ignore_errors=True)
    return lines
