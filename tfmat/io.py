"""Durable outputs: atomic writes and run records.

Every file is written to a temporary sibling and renamed into place, so a
killed run never leaves a half-written output.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary name ends in ``path``'s full name, so writers that check
    the suffix (``.keras``, ``.weights.h5``) accept it. Nothing is left behind
    when the block raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=f".{path.name}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory next to ``path``; on success it replaces ``path`` (a
    directory that exists is moved aside first and removed once the new one is in place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    old = None
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


class OutputInUse(RuntimeError):
    """Another running process holds the output path's lock."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


@contextmanager
def output_lock(path: str | os.PathLike, tag: str = "") -> Iterator[Path]:
    """Hold ``.NAME{tag}.lock`` beside ``path`` (holding this process's id) while the block writes ``path``.

    A lock held by another live process raises :class:`OutputInUse` naming
    that process; a lock left by a process that has died is taken over.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}{tag}.lock"
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise OutputInUse(f"{path} is being written by another tfmat process (pid {pid}, lock {lock}); "
                                  "wait for it or choose another output") from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        break
    else:
        raise OutputInUse(f"could not take the lock {lock}")
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def save_atomically(path: str | os.PathLike, save: Callable[[str], None]) -> Path:
    """Call ``save`` (a writer taking a path, such as ``model.save``) on a temporary sibling of
    ``path``, then rename it into place."""
    with atomic_path(path) as tmp:
        save(str(tmp))
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def write_csv(path: str | os.PathLike, frame, **kwargs) -> Path:
    """Write a pandas DataFrame atomically (``index=False`` unless given)."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(path)


def clear_run(path: str | os.PathLike, overwrite: bool, keep: tuple[str, ...] = ()) -> None:
    """With ``overwrite``, remove a training run directory (all but the entries named in ``keep``) so
    the run starts clean; without it, leave it to be resumed."""
    path = Path(path)
    if not overwrite or not path.exists():
        return
    print(f"--overwrite: removing {path}", file=sys.stderr)
    if not path.is_dir():
        path.unlink()
    elif not keep:
        shutil.rmtree(path)
    else:
        for entry in path.iterdir():
            if entry.name not in keep:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


RUN_IDENTITY = "identity.json"


def data_hash(*arrays) -> str:
    """SHA-256 of arrays' dtypes, shapes and bytes: what a run trained on, in 64 hex digits."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes() if a.dtype != object else "\x00".join(map(str, a.ravel())).encode())
    return digest.hexdigest()


def claim_run(out_dir: str | os.PathLike, identity: dict, overwrite: bool = False, keep: tuple[str, ...] = ()) -> None:
    """Bind the training run directory ``out_dir`` to ``identity`` (a flat dict of what decides its
    results: the data's and the split's :func:`data_hash`, the settings a rerun cannot change).

    With ``overwrite`` the directory is cleared first (but ``keep``). A directory bound to another
    identity, or one with files but no record of it, raises :class:`~tfmat.errors.UsageError` naming
    what differs; otherwise the identity is written to ``identity.json`` and the run may resume there.
    """
    from .errors import UsageError

    out = Path(out_dir)
    clear_run(out, overwrite, keep)
    path = out / RUN_IDENTITY
    identity = json.loads(json.dumps(identity, default=_jsonable))
    if path.is_file():
        old = json.loads(path.read_text())
        changed = sorted(k for k in {**old, **identity} if old.get(k) != identity.get(k))
        if changed:
            raise UsageError(f"{out} holds a run with a different {', '.join(changed)}; pass --overwrite to start "
                             "it again, or choose another output")
        return
    if out.is_dir() and any(e.name not in keep for e in out.iterdir()):
        raise UsageError(f"{out} holds files that no run of this version recorded ({RUN_IDENTITY} is missing); "
                         "pass --overwrite to replace them, or choose another output")
    write_json(path, identity)


def record_run(out_dir: str | os.PathLike, config: dict, name: str = "run.json") -> Path:
    """Save the command line and config that produced ``out_dir``."""
    return write_json(Path(out_dir) / name, {"command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
                                             "config": config})


def _jsonable(obj: Any):
    try:
        import numpy as np
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
