"""`xlqa-run data fetch mlqa xquad tydiqa squad --to DIR`: the official release files, laid out as
eval.data_dir reads them (DIR/mlqa/{dev,test}, DIR/xquad, DIR/tydiqa/{dev,train}, DIR/squad), with sizes and
checksums checked, for a GPU box with internet (the hub's script-based MLQA does not load with datasets >= 4).

Checksums: XQuAD's 12 files (pinned commit) and SQuAD v1.1 dev have known sha256 (those of the official files,
checked against their git blob ids); the others are recorded in DIR/FETCHED.json at download and reported as
unverified. A file whose size or checksum is wrong is deleted, and the error names it.
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
    path: str                    # under DIR; for a zip, the folder its members go to
    size: int | None = None
    sha256: str | None = None
    members: tuple[tuple[str, str], ...] = ()   # zip: (member prefix, folder under DIR)


DATASETS: dict[str, list[Release]] = {
    "xquad": [Release(f"https://raw.githubusercontent.com/google-deepmind/xquad/{XQUAD_COMMIT}/xquad.{lang}.json",
                      f"xquad/xquad.{lang}.json", size, sha) for lang, (size, sha) in XQUAD_SHA256.items()],
    "squad": [Release("https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json", "squad/dev-v1.1.json",
                      4854279, "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9"),
              Release("https://rajpurkar.github.io/SQuAD-explorer/dataset/train-v1.1.json", "squad/train-v1.1.json")],
    "mlqa": [Release("https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip", "mlqa",
                     members=(("MLQA_V1/dev/", "mlqa/dev"), ("MLQA_V1/test/", "mlqa/test")))],
    "tydiqa": [Release("https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-dev.json",
                       "tydiqa/dev/tydiqa-goldp-v1.1-dev.json"),
               Release("https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-train.json",
                       "tydiqa/train/tydiqa-goldp-v1.1-train.json")],
}
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _present(release: Release, to: Path) -> bool:
    if release.members:
        return all((to / folder).is_dir() and any((to / folder).iterdir()) for _, folder in release.members)
    path = to / release.path
    if not path.exists():
        return False
    return release.sha256 is None or sha256_of(path) == release.sha256


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


def fetch(names: list[str], to: Path, mirror: str | None = None, progress_for=None) -> list[str]:
    """Fetch the named datasets into `to`; returns one line per file. mirror: a base URL serving the same file
    names (tests use a loopback server). progress_for(name) -> a progress(done, total) callback or None."""
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        raise DataError(unknown[0], "unknown dataset", f"fetch one of {', '.join(DATASETS)}")
    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    manifest_path = to / "FETCHED.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    lines = []
    for name in names:
        for release in DATASETS[name]:
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
                raise DataError(url, f"wrong file: {size:,} bytes, sha256 {digest} (expected {release.size:,} bytes, "
                                     f"sha256 {release.sha256})", "the download was cut or the release changed; run it again")
            if release.members:
                with zipfile.ZipFile(partial) as archive:
                    for prefix, folder in release.members:
                        (to / folder).mkdir(parents=True, exist_ok=True)
                        for member in archive.namelist():
                            if member.startswith(prefix) and member.endswith(".json"):
                                with archive.open(member) as src, open(to / folder / Path(member).name, "wb") as dst:
                                    shutil.copyfileobj(src, dst)
                partial.unlink()
            else:
                (to / release.path).parent.mkdir(parents=True, exist_ok=True)
                partial.replace(to / release.path)  # whole files only: never a half-written one in place
            manifest[release.path] = {"url": release.url, "bytes": size, "sha256": digest, "verified": bool(release.sha256),
                                      "fetched": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            manifest_path.write_text(json.dumps(manifest, indent=1))
            check = "sha256 verified" if release.sha256 else f"sha256 {digest[:16]}… (no published checksum: recorded)"
            lines.append(f"{release.path}: {size:,} bytes, {check}")
    shutil.rmtree(to / ".partial", ignore_errors=True)
    return lines
