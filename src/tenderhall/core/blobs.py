"""Files into storage: streamed, hashed on the way, size-capped, never left behind half-written.

Both registration documents and tender documents go through here (and later archives). The
storage is Django's (filesystem in the embedded profile, S3 in the cluster): a file object is
handed to it chunk by chunk, so no upload is ever whole in memory."""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage

from tenderhall.core.errors import DomainError, ValidationFailed


@dataclass(frozen=True)
class StoredBlob:
    name: str  # the storage name
    sha256: str
    size: int


class _HashingFile(File):
    """Counts and hashes what the storage reads. A rewind to the start (storages do it before
    writing) starts over; a storage that jumps elsewhere makes us hash again afterwards."""

    def __init__(
        self, source: IO[bytes] | File, name: str, limit: int, too_large: Callable[[int], DomainError]
    ):
        super().__init__(source, name)
        self._source: Any = source
        self._limit = limit
        self._too_large = too_large
        self._restart()

    def _restart(self) -> None:
        self.digest = hashlib.sha256()
        self.count = 0
        self.sequential = True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position: int = self._source.seek(offset, whence)
        if offset == 0 and whence == os.SEEK_SET:
            self._restart()
        else:
            self.sequential = False
        return position

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._source.read(size)
        self.count += len(data)
        if self.count > self._limit:
            raise self._too_large(self.count)  # stop reading: the storage write is abandoned
        self.digest.update(data)
        return data

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        if hasattr(self._source, "seek"):
            self.seek(0)
        while data := self.read(chunk_size or self.DEFAULT_CHUNK_SIZE):
            yield data

    def multiple_chunks(self, chunk_size: int | None = None) -> bool:
        return True

    def rehash(self) -> None:
        self._source.seek(0)
        self._restart()
        while self.read(self.DEFAULT_CHUNK_SIZE):
            pass


def store_hashed(
    source: IO[bytes] | File,
    *,
    path: str,
    limit: int,
    too_large: Callable[[int], DomainError],
    empty: DomainError | None = None,
    storage: Storage | None = None,
) -> StoredBlob:
    """Stream ``source`` to ``path`` (the storage may pick a free variant) with its SHA-256.

    Refuses an empty file and one over ``limit`` bytes (``too_large(size)``); on any refusal or
    error nothing stays in storage. The caller deletes the blob if its own transaction fails
    afterwards (``discard``)."""
    storage = storage or default_storage
    declared = getattr(source, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise too_large(declared)  # refused before a byte is stored
    stream = _HashingFile(source, os.path.basename(path), limit, too_large)
    name = storage.get_available_name(path)
    try:
        name = storage.save(name, stream)
        if not stream.sequential:
            stream.rehash()
        if stream.count > limit:
            raise too_large(stream.count)
        if stream.count == 0:
            raise empty or ValidationFailed(
                "file_empty", "上传的文件是空的", "the uploaded file is empty", fields={"file": ""}
            )
    except BaseException:
        discard(name, storage=storage)
        raise
    return StoredBlob(name=name, sha256=stream.digest.hexdigest(), size=stream.count)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_into(storage: Storage, name: str, local: Path) -> tuple[str, Path | None]:
    """A finished local file into the storage under ``name`` (or the next free name): renamed
    when the storage is a directory on the same filesystem (atomic, no copy), else copied.
    Returns the stored name and, when renamed, where the file went (the local path is gone);
    after a copy the local file is still there for the caller to remove."""
    name = storage.get_available_name(name)
    if isinstance(storage, FileSystemStorage):
        target = Path(storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(local, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        else:
            _fsync_dir(target.parent)
            return name, target
    with local.open("rb") as source:  # another filesystem or an object store: copy
        return storage.save(name, File(source, name=name)), None


def discard(name: str, *, storage: Storage | None = None) -> None:
    storage = storage or default_storage
    if name and storage.exists(name):
        storage.delete(name)


def clean_filename(raw: str | None) -> str:
    """The last path component of a client's file name, without NULs; refused if nothing is left."""
    name = os.path.basename((raw or "").replace("\\", "/")).strip().replace("\x00", "")
    if not name or name in (".", ".."):
        raise ValidationFailed(
            "filename_required", "请选择要上传的文件", "choose a file to upload", fields={"file": ""}
        )
    return name[-200:]


def safe_extension(name: str) -> str:
    """A short, plain extension for our own storage names (the user's name is kept in the row)."""
    extension = os.path.splitext(name)[1].lower()
    return extension if re.fullmatch(r"\.[a-z0-9]{1,10}", extension) else ""
