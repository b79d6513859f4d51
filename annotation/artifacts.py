"""Snapshots, models and job artifacts through Django's storage API (`STORAGES["artifacts"]`).

By default that is a local folder (ARTIFACT_ROOT), where the files already are and nothing is copied. With an
S3-compatible bucket configured, workers on other machines read snapshots and write models through it and
share no disk with the web server: `materialize` downloads a folder once into this machine's cache and
`upload_folder` writes one back.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages

COMPLETE = ".complete"  # written last into a cached download: a folder without it is half a download


def snapshot_folder(snapshot) -> Path:
    """A snapshot's folder on this machine (its builder writes it there; elsewhere `materialize` fills it)."""
    return Path(settings.ARTIFACT_ROOT) / "snapshots" / str(snapshot.pk)


def snapshot_prefix(snapshot_id: int) -> str:
    """The snapshot's folder in the artifact store."""
    return f"snapshots/{snapshot_id}"


def store():
    return storages["artifacts"]


def is_local() -> bool:
    return isinstance(store(), FileSystemStorage)


def _walk(prefix: str) -> list[str]:
    """Every file name under a prefix, relative to it."""
    folders, names = store().listdir(prefix)
    out = list(names)
    for folder in folders:
        out.extend(f"{folder}/{name}" for name in _walk(f"{prefix}/{folder}"))
    return out


def exists(prefix: str) -> bool:
    try:
        folders, names = store().listdir(prefix)
    except FileNotFoundError:
        return False
    return bool(folders or names)


def list_files(prefix: str) -> list[dict]:
    """[{name, bytes}] of the files under a prefix."""
    if not exists(prefix):
        return []
    return [{"name": name, "bytes": store().size(f"{prefix}/{name}")} for name in sorted(_walk(prefix))]


def upload_folder(local: Path, prefix: str) -> list[dict]:
    """Write every file under `local` to `prefix/` (replacing what is there); returns [{name, bytes}]."""
    local = Path(local)
    written = []
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        name = path.relative_to(local).as_posix()
        upload_file(path, f"{prefix}/{name}")
        written.append({"name": name, "bytes": path.stat().st_size})
    return written


def upload_file(path: Path, name: str) -> None:
    storage = store()
    if is_local() and Path(storage.path(name)).resolve() == Path(path).resolve():
        return
    if storage.exists(name):
        storage.delete(name)
    with open(path, "rb") as f:
        saved = storage.save(name, File(f, name=os.path.basename(name)))
    if saved != name:  # a storage that renamed instead of writing where we said would lose the file
        raise RuntimeError(f"artifact store wrote {saved} instead of {name}")


def delete_prefix(prefix: str) -> None:
    if is_local():
        shutil.rmtree(store().path(prefix), ignore_errors=True)
        return
    for name in _walk(prefix) if exists(prefix) else []:
        store().delete(f"{prefix}/{name}")


def materialize(prefix: str) -> Path:
    """A local folder with the files under `prefix`: the folder itself when the store is local, else a
    download into this machine's cache (kept: snapshots and models never change)."""
    if is_local():
        return Path(store().path(prefix))
    cache = Path(settings.ARTIFACT_CACHE_DIR) / prefix
    if (cache / COMPLETE).exists():
        return cache
    return download_folder(prefix, cache)


def download_folder(prefix: str, dest: Path) -> Path:
    dest = Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name in _walk(prefix):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with store().open(f"{prefix}/{name}", "rb") as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    (dest / COMPLETE).touch()
    return dest
