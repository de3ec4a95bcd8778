"""Atomic file and folder writes: a crash or a failed check never leaves a half-written output, and an
earlier output at the same path stays untouched until the new one is complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def new_run_dir(root: Path, name: str) -> Path:
    """A fresh ``root/<name>-<YYYYmmdd-HHMMSS>[-i]`` folder, created (never an existing one)."""
    import datetime as _dt

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    d = root / f"{name}-{stamp}"
    i = 1
    while d.exists():
        i += 1
        d = root / f"{name}-{stamp}-{i}"
    d.mkdir(parents=True)
    return d


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def beside(src: Path, name: str) -> Path:
    """The default output ``name`` for an input ``src``: next to it, unless ``src`` is a file shipped inside the
    installed package (the built-in model) or its folder is not writable; then in the working directory, so an
    output never lands in ``site-packages`` or fails on a read-only dataset mount."""
    src = Path(src)
    try:  # the package's own folder (shipped.ASSETS sits in it; io may not import the layer above it)
        shipped = src.resolve().is_relative_to(Path(__file__).resolve().parent)
    except OSError:
        shipped = False
    if shipped or (src.parent.is_dir() and not os.access(src.parent, os.W_OK)):
        return Path.cwd() / name
    return src.with_name(name)


def atomic_copy(src: Path, dst: Path) -> Path:
    """Copy a finished file or folder into place, replacing ``dst`` only once the copy is complete; ``src`` stays
    (a resumable run's step folder still points at it)."""
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        staging = dst.parent / f".{dst.name}.{_unique()}.incoming"
        shutil.copytree(src, staging)
        old = dst.parent / f".{dst.name}.{_unique()}.old"
        if dst.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(dst, old)
        os.replace(staging, dst)
        if old.exists():
            shutil.rmtree(old)
    else:
        staging = dst.parent / f".{dst.name}.{_unique()}.incoming"
        try:
            shutil.copy2(src, staging)
            os.replace(staging, dst)
        finally:
            if staging.exists():
                staging.unlink()
    return dst


def _unique() -> str:
    """A staging-name part no other process (or thread) picks: two runs never share a scratch path."""
    import uuid

    return f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def file_hash(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, or of a folder's files (relative names and bytes, sorted): the identity of an
    input, so a resumed unit of work notices a changed model, dataset or teacher."""
    import hashlib

    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def fingerprint(**parts) -> str:
    """sha256 of JSON-serialisable parts (input hashes, a config's dict): equal iff the work would be the same."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class FolderLock:
    """``FOLDER/.lock`` (pid, host, start time) held while a run writes into FOLDER. A second holder is refused
    with one line; a lock left by a process that is gone (same host, pid not alive: a kill, a power cut) is
    taken over. Use as a context manager."""

    def __init__(self, folder: str | os.PathLike, what: str = "run folder"):
        self.folder, self.what = Path(folder), what
        self.path = self.folder / ".lock"
        self.held = False

    def _alive(self, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def acquire(self) -> "FolderLock":
        import json
        import socket
        import time

        from .errors import InputError

        self.folder.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    held = json.loads(self.path.read_text() or "{}")
                except (OSError, ValueError):
                    held = {}
                pid, host = held.get("pid"), held.get("host")
                if isinstance(pid, int) and host == me["host"] and not self._alive(pid):
                    try:  # stale: its process is gone
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                raise InputError(
                    f"{self.what} '{self.folder}' is in use by process {pid} on {host or '?'} (since "
                    f"{held.get('started', '?')}); wait for it to finish or pick another folder (if that process is "
                    f"gone, delete '{self.path}')") from None
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return self
        raise InputError(f"{self.what} '{self.folder}': could not take its lock '{self.path}'; try again")

    def release(self) -> None:
        if self.held:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self.held = False

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def same_path(a: Path, b: Path) -> bool:
    """Whether two paths name one file (symlinks resolved; hard links by inode; a missing path by its resolved name)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)  # also a hard link or a bind mount of the same file
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_not_input(out: str | os.PathLike, inputs: dict, flag: str = "--out") -> None:
    """Refuse, before any work, an output path that is one of ``inputs`` (``{"model": path, ...}``) or a folder
    holding one of them: writing it would overwrite or delete that input. A symlink or a hard link to an input
    counts as the input."""
    from .errors import InputError

    o = Path(out).expanduser()
    ro = o.resolve()
    for what, i in inputs.items():
        if i is None:
            continue
        i = Path(i).expanduser()
        if not i.exists():
            continue
        if same_path(o, i):
            raise InputError(f"{flag} '{out}' is the input {what} '{i}'; give another path (inputs are never "
                             f"overwritten)")
        if ro in i.resolve().parents:
            raise InputError(f"{flag} '{out}' is a folder holding the input {what} '{i}', which writing it would "
                             f"replace; give another path")


class _Stub:
    """Stands for every class a checkpoint's pickle names: reading the top-level keys runs no code of it."""

    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return _Stub()

    def __setstate__(self, state):
        pass

    def __setitem__(self, k, v):
        pass

    def append(self, v):
        pass

    def extend(self, v):
        pass


def checkpoint_state(p: str | os.PathLike) -> dict | None:
    """The plain top-level values of an Ultralytics checkpoint (``epoch``, ``optimizer`` present or None,
    ``train_args``: its epochs and imgsz), read from its pickle with every class replaced by a stub and no tensor
    loaded: no code of the file runs, it takes milliseconds, and it needs no PyTorch. None if it cannot be read."""
    import pickle
    import zipfile

    class _Reader(pickle.Unpickler):
        def find_class(self, module, name):
            return _Stub

        def persistent_load(self, pid):
            return None

    try:
        with zipfile.ZipFile(p) as z:
            name = next(n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
            obj = _Reader(z.open(name)).load()
    except Exception:  # noqa: BLE001 - not a readable checkpoint: the caller treats it as unfinished
        return None
    if not isinstance(obj, dict):
        return None
    args = obj.get("train_args")
    args = args if isinstance(args, dict) else {}
    imgsz = args.get("imgsz")
    return {"epoch": obj.get("epoch"), "has_optimizer": obj.get("optimizer") is not None, "epochs": args.get("epochs"),
            "imgsz": imgsz if isinstance(imgsz, int) and not isinstance(imgsz, bool) and imgsz > 0 else None}
