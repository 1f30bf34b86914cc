"""core.blobs: streamed into storage with its hash, capped, never left half-written."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

from tenderhall.core.blobs import clean_filename, safe_extension, store_hashed
from tenderhall.core.errors import DomainError, ValidationFailed


def too_large(size: int) -> DomainError:
    return DomainError("too_large", f"太大 {size}", f"too large {size}", status=413)


@pytest.fixture
def storage(tmp_path: Path) -> FileSystemStorage:
    return FileSystemStorage(location=tmp_path / "files")


def stored_files(storage: FileSystemStorage) -> list[Path]:
    root = Path(storage.location)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_file_is_stored_with_its_hash_and_size(storage: FileSystemStorage) -> None:
    data = b"x" * (3 * 65536 + 17)
    blob = store_hashed(io.BytesIO(data), path="a/b.txt", limit=10**6, too_large=too_large, storage=storage)
    assert blob.sha256 == hashlib.sha256(data).hexdigest() and blob.size == len(data)
    assert storage.open(blob.name).read() == data


def test_an_oversize_stream_is_refused_and_nothing_stays(storage: FileSystemStorage) -> None:
    with pytest.raises(DomainError) as caught:
        store_hashed(
            io.BytesIO(b"y" * 5000), path="big.bin", limit=4096, too_large=too_large, storage=storage
        )
    assert caught.value.code == "too_large"
    assert stored_files(storage) == []


def test_a_declared_oversize_is_refused_before_storing(storage: FileSystemStorage) -> None:
    class Declared(io.BytesIO):
        size = 10**9

    with pytest.raises(DomainError):
        store_hashed(Declared(b"small"), path="d.bin", limit=4096, too_large=too_large, storage=storage)
    assert stored_files(storage) == []


def test_an_empty_file_is_refused_and_nothing_stays(storage: FileSystemStorage) -> None:
    empty = ValidationFailed("document_empty", "空", "empty")
    with pytest.raises(ValidationFailed) as caught:
        store_hashed(
            io.BytesIO(b""), path="e.txt", limit=10, too_large=too_large, empty=empty, storage=storage
        )
    assert caught.value.code == "document_empty"
    assert stored_files(storage) == []


def test_filenames_are_cleaned() -> None:
    assert clean_filename("C:\\\\Users\\x\\招标文件.PDF") == "招标文件.PDF"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert safe_extension("a.PDF") == ".pdf" and safe_extension("a.p df") == ""
    with pytest.raises(ValidationFailed):
        clean_filename("..")
