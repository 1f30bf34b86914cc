"""Files the bidder tool writes: all or nothing, never over an existing file, hashed streaming."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tenderhall.client.errors import ToolError

READ_SIZE = 1024 * 1024  # streaming buffer: memory use never depends on a file's size


def refuse_existing(path: Path) -> None:
    if path.exists() or path.is_symlink():
        raise ToolError("file_exists", f"文件已存在，不会覆盖：{path}", f"Refusing to overwrite {path}")


def unreadable(path: Path, exc: OSError, what_zh: str = "", what_en: str = "") -> ToolError:
    what_en = f"the {what_en} file" if what_en else "the file"
    return ToolError(
        "file_unreadable",
        f"无法读取{what_zh}文件 {path}：{exc.strerror or exc}",
        f"Cannot read {what_en} {path}: {exc.strerror or exc}",
    )


def read_bytes(path: Path, what_zh: str = "", what_en: str = "") -> bytes:
    """Small files only (keys, certificates, JSON)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc, what_zh, what_en) from exc


def _publish(tmp: Path, path: Path) -> None:
    """Move the finished temporary file to ``path`` unless something appeared there meanwhile."""
    try:
        os.link(tmp, path)  # fails if path exists: no window in which a file could be clobbered
    except FileExistsError as exc:
        raise ToolError(
            "file_exists", f"文件已存在，不会覆盖：{path}", f"Refusing to overwrite {path}"
        ) from exc
    except OSError:
        # A file system without hard links: check, then rename.
        refuse_existing(path)
        os.replace(tmp, path)
        return
    tmp.unlink()


@contextmanager
def atomic_output(path: Path, mode: int = 0o600) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file next to it; it appears only if the block succeeds,
    so a failure (a wrong key, a tampered file, Ctrl-C) leaves no partial output behind."""
    refuse_existing(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise ToolError(
            "file_unwritable",
            f"无法在 {directory} 中写文件：{exc.strerror}",
            f"Cannot write in {directory}: {exc.strerror}",
        ) from exc
    tmp = Path(name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _publish(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` (a state or receipt file) atomically: readers see the old or the new one."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def file_sha256(path: Path) -> tuple[str, int]:
    """(hex SHA-256, size) of a file, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            while block := fh.read(READ_SIZE):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    return digest.hexdigest(), size
