"""Multi-file runs (``replicate``, its ``sensitivity/``, ``weight``): staged, swapped in whole,
with a run manifest.

A run writes every file into a hidden staging folder beside its output folder
(``.<name>.sktmp-stage-<pid>-<random>``). When the run is complete, ``manifest.json`` is
written into it (inputs with their sha256, the command line, surveykit and library versions,
every output with its sha256, ``"completed": true``) and the staging folder is swapped with
the output folder in one step (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames,
the old run restored by the next run if it was interrupted between them). An interrupted run
therefore leaves the previous complete run, or nothing; never a mix, and files of the earlier
run that this run does not produce do not survive as if they were current.

An output folder that holds anything else than a previous surveykit run (files the manifest
does not list, or, without a manifest, names this command never writes) is refused before any
work, naming what would be replaced. ``force=True`` (``--force``) then writes the run's files
into it one by one, leaves the other files alone, removes the files of the previous run that
this run does not produce and writes the manifest last (its absence marks an unfinished run).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import platform
import secrets
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from surveykit._atomic import TEMP_MARK, deferred_fsync, inside, same_file, write_text
from surveykit.errors import InputFileError

MANIFEST = "manifest.json"
#: Third-party libraries whose versions can change the numbers or the bytes of the outputs.
LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels", "formulaic", "patsy", "matplotlib",
             "fonttools", "pyreadstat", "PyYAML", "python-docx", "pyarrow")


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_versions() -> dict[str, str | None]:
    """Installed versions of :data:`LIBRARIES` (None: not installed) and of Python."""
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The surveykit manifest of ``folder``, or None (missing, unreadable, not ours)."""
    try:
        doc = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("tool") != "surveykit":
        return None
    return doc


def file_manifest(command: str, argv: Sequence[str] | None,
                  inputs: Iterable[str | os.PathLike[str] | None],
                  outputs: Iterable[str | os.PathLike[str]]) -> dict[str, Any]:
    """The manifest of a run that writes a few named files (``weight``): inputs and outputs
    with their sha256, the command line, versions, ``completed``."""
    from surveykit._version import __version__

    ins = [Path(p) for p in inputs if p is not None]
    return {"tool": "surveykit", "command": command,
            "command_line": None if argv is None else ["surveykit", *map(str, argv)],
            "surveykit_version": __version__, "libraries": library_versions(),
            "inputs": [{"path": str(p), "name": p.name, "sha256": sha256(p),
                        "bytes": p.stat().st_size} for p in ins if p.is_file()],
            "outputs": [{"path": Path(p).name, "sha256": sha256(p),
                         "bytes": Path(p).stat().st_size} for p in map(Path, outputs)],
            "completed": True}


def _all_files(folder: Path) -> list[str]:
    """Every file (and symlink) under ``folder`` as a POSIX path relative to it, sorted."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        rel = Path(root).relative_to(folder)
        for name in sorted(files):
            out.append((rel / name).as_posix())
        for name in dirs:  # symlinked folders are not followed: list them as entries
            if (Path(root) / name).is_symlink():
                out.append((rel / name).as_posix())
    return sorted(out)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    return False  # e.g. EINVAL on file systems without exchange: fall back to two renames


def _sync_folder(folder: Path) -> None:
    """Flush the staged files to disk once (``syncfs`` of their file system, else ``sync``)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    except (OSError, AttributeError):  # pragma: no cover
        os.sync()
    finally:
        os.close(fd)


def recover(out: Path) -> None:
    """Tidy what interrupted runs left beside ``out``: an old run moved aside but not replaced
    is moved back (``out`` missing), staging folders of dead processes are removed."""
    parent = out.parent
    if not parent.is_dir():
        return
    prefix = f".{out.name}{TEMP_MARK}"
    for entry in sorted(parent.iterdir()):
        if not entry.name.startswith(prefix) or not entry.is_dir():
            continue
        kind, _, rest = entry.name[len(prefix):].partition("-")
        pid = rest.partition("-")[0]
        if kind not in ("stage", "old") or not pid.isdigit() or _pid_alive(int(pid)):
            continue
        if kind == "old" and not out.exists() and read_manifest(entry) is not None:
            os.rename(entry, out)  # the run was interrupted between the two renames
        else:
            shutil.rmtree(entry, ignore_errors=True)


class RunFolder:
    """One multi-file run into the folder ``out`` (see the module docstring).

    Parameters
    ----------
    out: the output folder.
    command: the command's name ("replicate").
    argv: the command line (None for calls from Python).
    inputs: files the run reads (recorded with their sha256; an output folder holding one is
        refused).
    known: top-level names the command writes (a folder without a manifest holding only these
        is taken for an earlier run of it).
    force: write into a folder holding other files (see the module docstring).
    extra: more fields for the manifest (e.g. the random seed).
    """

    def __init__(self, out: str | os.PathLike[str], *, command: str,
                 argv: Sequence[str] | None, inputs: Iterable[str | os.PathLike[str] | None],
                 known: Iterable[str] = (), force: bool = False,
                 extra: Mapping[str, Any] | None = None) -> None:
        given = Path(out)
        self.given = given
        self.out = Path(os.path.realpath(given)) if given.is_symlink() else given
        self.command = command
        self.argv = None if argv is None else [str(a) for a in argv]
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.known = set(known) | {MANIFEST}
        self.force = force
        self.extra = dict(extra or {})
        self.merge = False
        self.previous: dict[str, Any] | None = None
        self.staging: Path | None = None
        self._check()

    # -- before any work ---------------------------------------------------------------------
    def _check(self) -> None:
        out = self.out
        for src in self.inputs:
            if inside(src, out) or same_file(src, out):
                raise InputFileError(
                    "the output folder contains an input of this command (the run would "
                    "replace the folder)", file=str(self.given), values=[str(src)],
                    hint="choose another --out folder; surveykit never writes over the files "
                         "it reads")
        recover(out)
        if not out.exists():
            return
        if not out.is_dir():
            raise InputFileError("--out names a file, not a folder", file=str(self.given),
                                 hint="choose a folder name (it is created)")
        self.previous = read_manifest(out)
        listed = set()
        if self.previous is not None:
            listed = {o.get("path") for o in self.previous.get("outputs", [])
                      if isinstance(o, dict)}
            foreign = [f for f in _all_files(out) if f not in listed and f != MANIFEST]
        else:  # no manifest: an earlier run of this command holds only names it writes
            foreign = [e.name + ("/" if e.is_dir() else "") for e in sorted(out.iterdir())
                       if e.name not in self.known]
        if not foreign:
            return
        if not self.force:
            what = ("files that the manifest of the earlier surveykit run there does not list"
                    if self.previous is not None else "files that are not a surveykit run")
            raise InputFileError(
                f"the output folder holds {what}; the run would replace the folder",
                file=str(self.given), values=foreign,
                hint="choose a new or empty --out folder, or pass --force to write this run's "
                     "files into it and leave the others alone")
        self.merge = True

    # -- the run -----------------------------------------------------------------------------
    def __enter__(self) -> Path:
        parent = self.out.parent
        parent.mkdir(parents=True, exist_ok=True)
        name = f".{self.out.name}{TEMP_MARK}stage-{os.getpid()}-{secrets.token_hex(4)}"
        self.staging = parent / name
        self.staging.mkdir()
        self._defer = deferred_fsync(self.staging)
        self._defer.__enter__()
        return self.staging

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if getattr(self, "_defer", None) is not None:
            self._defer.__exit__(None, None, None)
            self._defer = None
        if exc_type is not None and self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None

    def final(self, path: str | os.PathLike[str]) -> Path:
        """Where a file written under the staging folder ends up."""
        assert self.staging is not None
        return self.given / Path(path).relative_to(self.staging)

    def manifest(self, folder: Path) -> dict[str, Any]:
        """The manifest of the run staged in ``folder``."""
        from surveykit._version import __version__

        outputs = [{"path": rel, "sha256": sha256(folder / rel),
                    "bytes": (folder / rel).stat().st_size}
                   for rel in _all_files(folder) if rel != MANIFEST]
        inputs = [{"path": str(p), "name": p.name, "sha256": sha256(p),
                   "bytes": p.stat().st_size} for p in self.inputs if p.is_file()]
        return {"tool": "surveykit", "command": self.command,
                "command_line": None if self.argv is None else ["surveykit", *self.argv],
                "surveykit_version": __version__, "libraries": library_versions(),
                "inputs": inputs, **self.extra, "outputs": outputs, "completed": True}

    def commit(self) -> list[Path]:
        """Write the manifest and put the staged run in place; returns the final paths of
        every file of the run (manifest included)."""
        staging = self.staging
        assert staging is not None, "commit() outside the with block"
        doc = self.manifest(staging)
        write_text(staging / MANIFEST, json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                   fsync=False)
        _sync_folder(staging)
        files = [self.given / o["path"] for o in doc["outputs"]] + [self.given / MANIFEST]
        if self.merge:
            self._merge_into(staging, doc)
        else:
            self._swap(staging)
        self.staging = None
        self.__exit__(None, None, None)
        return sorted(files)

    def _swap(self, staging: Path) -> None:
        out = self.out
        if not out.exists():
            os.rename(staging, out)
        elif _exchange(staging, out):
            shutil.rmtree(staging, ignore_errors=True)  # now holds the previous run
        else:  # two renames; recover() restores the old run if we die in between
            old = out.parent / (f".{out.name}{TEMP_MARK}old-{os.getpid()}-"
                                f"{secrets.token_hex(4)}")
            os.rename(out, old)
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        with contextlib.suppress(OSError):
            fd = os.open(out.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _merge_into(self, staging: Path, doc: dict[str, Any]) -> None:
        """--force into a folder holding other files: ours replaced one by one, the rest left
        alone, the old run's files this run does not produce removed, manifest last."""
        out = self.out
        with contextlib.suppress(FileNotFoundError):
            (out / MANIFEST).unlink()  # from here until the end the folder has no manifest
        produced = {o["path"] for o in doc["outputs"]}
        for rel in sorted(produced):
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
        if self.previous is not None:
            for o in self.previous.get("outputs", []):
                rel = o.get("path") if isinstance(o, dict) else None
                if not rel or rel in produced or ".." in Path(rel).parts:
                    continue
                stale = out / rel
                if stale.is_file() and inside(stale, out):
                    stale.unlink()
        os.replace(staging / MANIFEST, out / MANIFEST)
        shutil.rmtree(staging, ignore_errors=True)
