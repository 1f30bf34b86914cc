"""Resumable chunked upload of a sealed bid (docs/bid-package.md "Upload").

The tool keeps a state file next to the envelope (``bid.age.upload.json``: server, section,
upload id, size, SHA-256, chunk size). A later run with the same file asks the server how much it
holds and continues from there, so a dropped connection or a killed tool loses at most a chunk;
if the file changed it starts a new upload. Each chunk is retried with backoff; a 409
``upload_offset_mismatch`` resumes from the server's ``expected_offset``. After finalize the
receipt is saved as ``bid.age.receipt.json`` and the state file is removed.

Memory: one chunk at a time (the server's chunk size, a few MiB), never the whole file.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from tenderhall.client.api import ApiClient, ApiError
from tenderhall.client.errors import ToolError
from tenderhall.client.files import file_sha256, unreadable, write_json_atomic

MIB = 1024 * 1024
STATE_SUFFIX = ".upload.json"
RECEIPT_SUFFIX = ".receipt.json"
MAX_ATTEMPTS = 5  # consecutive failures of one step before giving up (the state file stays)
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)
TRANSIENT_CODES = {"server_unreachable", "server_timeout", "bad_response"}


def state_path(path: Path) -> Path:
    return path.with_name(path.name + STATE_SUFFIX)


def receipt_path(path: Path) -> Path:
    return path.with_name(path.name + RECEIPT_SUFFIX)


@dataclass(frozen=True)
class UploadState:
    server: str
    section: int
    upload_id: str
    size: int
    sha256: str
    chunk_size: int

    @classmethod
    def load(cls, path: Path) -> UploadState | None:
        """The saved state, or None when there is none or it is unreadable (then start afresh)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                server=str(data["server"]),
                section=int(data["section"]),
                upload_id=str(data["upload_id"]),
                size=int(data["size"]),
                sha256=str(data["sha256"]),
                chunk_size=int(data.get("chunk_size") or 0),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, path: Path) -> None:
        write_json_atomic(path, json.dumps(asdict(self), indent=2) + "\n")


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def is_transient(error: ApiError) -> bool:
    status = error.status if isinstance(error.status, int) else 0
    return error.code in TRANSIENT_CODES or status >= 500 or status == 429


class ProgressBar:
    """``[#####.....]  50%  4.0/8.0 MiB`` on stderr: redrawn in place on a terminal, a line per
    tenth otherwise (logs)."""

    def __init__(self, total: int, stream: TextIO, width: int = 30) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._last_tenth = -1

    def update(self, done: int) -> None:
        fraction = min(done / self.total, 1.0)
        tenth = int(fraction * 10)
        if not self.tty and tenth == self._last_tenth:
            return
        self._last_tenth = tenth
        filled = int(fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        text = f"[{bar}] {fraction * 100:3.0f}%  {done / MIB:.1f}/{self.total / MIB:.1f} MiB"
        self.stream.write(f"\r{text}" if self.tty else f"{text}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Result:
    receipt: dict[str, Any]
    receipt_file: Path
    upload_id: str
    resumed_from: int | None
    sha256: str
    size: int


class Uploader:
    """One ``submit`` run. ``sleep`` and ``stderr`` are parameters so tests need not wait."""

    def __init__(
        self,
        api: ApiClient,
        *,
        server: str,
        section_id: int,
        path: Path,
        chunk_bytes: int | None = None,
        stderr: TextIO | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.api = api
        self.server = server
        self.section_id = section_id
        self.path = path
        self.chunk_bytes = chunk_bytes
        self.stderr = stderr or sys.stderr
        self.sleep = sleep if sleep is not None else _sleep

    # -- messages --------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    # -- steps -----------------------------------------------------------------------------------

    def status(self, upload_id: str) -> dict[str, Any] | None:
        try:
            return self.api.get_json(f"/api/v1/uploads/{upload_id}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def backoff(self, what_zh: str, what_en: str, attempt: int) -> None:
        """Wait before the next try of a failed step; give up after MAX_ATTEMPTS failures."""
        if attempt >= MAX_ATTEMPTS:
            raise ToolError(
                "upload_gave_up",
                f"{what_zh}连续失败 {attempt} 次，已停止；再次运行同一命令即可从断点继续",
                f"{what_en} failed {attempt} times in a row; run the same command again to resume",
            )
        delay = BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
        self.say(f"  {delay:g} 秒后重试 / retrying in {delay:g} s ({attempt}/{MAX_ATTEMPTS - 1})")
        self.sleep(delay)

    def run(self) -> Result:
        sha256, size = file_sha256(self.path)
        if size == 0:
            raise ToolError("bid_empty", f"文件为空：{self.path}", f"the file is empty: {self.path}")
        state_file = state_path(self.path)
        state = UploadState.load(state_file)
        offset: int | None = None
        resumed_from: int | None = None
        if state is not None:
            same = (state.server, state.section, state.size, state.sha256) == (
                self.server,
                self.section_id,
                size,
                sha256,
            )
            if not same:
                self.say(
                    "文件或标段已变化，开始新的上传 / The file or section changed: starting a new upload"
                )
                if state.server == self.server:
                    self._abort_quietly(state.upload_id)
                state = None
            else:
                status = self.status(state.upload_id)
                if status is not None and status.get("status") == "finalized":
                    # Finalized by an earlier run whose answer never came: fetch the receipt.
                    receipt = self._receipt_of_live_bid(sha256)
                    if receipt is not None:
                        return self._finish(state, receipt, resumed_from=None)
                    state = None
                elif status is not None and status.get("status") == "open":
                    offset = int(status.get("received", 0))
                    resumed_from = offset
                    self.say(
                        f"继续上传 / Resuming upload {state.upload_id} at {offset / MIB:.1f} of {size / MIB:.1f} MiB"
                    )
                else:
                    self.say(
                        "上次的上传已失效，开始新的上传 / The earlier upload is gone: starting a new one"
                    )
                    state = None
        if state is None:
            created = self.api.post_json(
                f"/api/v1/sections/{self.section_id}/uploads", {"size": size, "sha256": sha256}
            )
            state = UploadState(
                server=self.server,
                section=self.section_id,
                upload_id=str(created["upload_id"]),
                size=size,
                sha256=sha256,
                chunk_size=int(created.get("chunk_size") or 0),
            )
            state.save(state_file)
            offset = int(created.get("received", 0))
            self.say(f"新的上传 / New upload {state.upload_id}: {self.path.name}, {size / MIB:.1f} MiB")
        assert offset is not None
        self._send(state, offset)
        receipt = self._finalize(state, sha256, state_file)
        return self._finish(state, receipt, resumed_from=resumed_from)

    def _chunk_size(self, state: UploadState) -> int:
        sizes = [s for s in (state.chunk_size, self.chunk_bytes) if s and s > 0]
        return min(sizes) if sizes else 4 * MIB

    def _send(self, state: UploadState, offset: int) -> None:
        chunk = self._chunk_size(state)
        bar = ProgressBar(state.size, self.stderr)
        bar.update(offset)
        failures = 0
        try:
            source = self.path.open("rb")
        except OSError as exc:
            raise unreadable(self.path, exc) from exc
        with source:
            while offset < state.size:
                source.seek(offset)
                data = source.read(min(chunk, state.size - offset))
                try:
                    answer = self.api.put_bytes(
                        f"/api/v1/uploads/{state.upload_id}/chunks", data, params={"offset": str(offset)}
                    )
                except ApiError as exc:
                    failures += 1
                    if exc.code == "upload_offset_mismatch":
                        # Overlaps and gaps are refused: continue where the server says it is.
                        if failures >= MAX_ATTEMPTS:
                            raise
                        expected = exc.problem.get("expected_offset")
                        if not isinstance(expected, int) or not 0 <= expected <= state.size:
                            expected = self._received(state)
                        if expected >= 0:
                            self.say(
                                f"  服务器已收到 / the server holds {expected / MIB:.1f} MiB: continuing there"
                            )
                            offset = expected
                        continue
                    if not is_transient(exc):
                        raise
                    self.say(f"  {exc.code}: {exc.message_zh} / {exc.message_en}")
                    self.backoff("上传数据块", "Sending a chunk", failures)
                    # The chunk may have arrived even though its answer did not: ask.
                    held = self._received(state)
                    if held >= 0:
                        offset = held
                    continue
                del data
                received = answer.get("received")
                if not isinstance(received, int) or not offset < received <= state.size:
                    # An answer that makes no sense: count it as a failure and ask where we are.
                    failures += 1
                    self.backoff("上传数据块", "Sending a chunk", failures)
                    held = self._received(state)
                    offset = held if held >= 0 else offset
                    continue
                offset = received
                failures = 0
                bar.update(offset)
        bar.close()

    def _received(self, state: UploadState) -> int:
        """What the server holds; -1 if it cannot say now (the caller retries)."""
        try:
            status = self.status(state.upload_id)
        except ApiError as exc:
            if is_transient(exc):
                return -1
            raise
        if status is None or status.get("status") not in ("open", None):
            raise ToolError(
                "upload_lost",
                "服务器上的这次上传已不存在或已关闭；再次运行同一命令将开始新的上传",
                "The server no longer has this upload open; run the command again to start a new upload",
            )
        return int(status.get("received", 0))

    def _finalize(self, state: UploadState, sha256: str, state_file: Path) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return self.api.post_json(f"/api/v1/uploads/{state.upload_id}/finalize", {})
            except ApiError as exc:
                error = exc
            if error.code != "upload_not_open" and not is_transient(error):
                if error.code != "upload_incomplete":
                    # Refused for good (deadline, hash, format): a new run must start afresh.
                    state_file.unlink(missing_ok=True)
                raise error
            # The server may have finalized and its answer got lost: ask before trying again.
            try:
                receipt = self._receipt_if_finalized(state, sha256)
            except ApiError as exc:
                if not is_transient(exc):
                    raise
                error, receipt = exc, None
            if receipt is not None:
                return receipt
            if error.code == "upload_not_open":
                state_file.unlink(missing_ok=True)
                raise error
            attempt += 1
            self.say(f"  {error.code}: {error.message_zh} / {error.message_en}")
            self.backoff("完成上传", "Finalizing", attempt)

    def _receipt_if_finalized(self, state: UploadState, sha256: str) -> dict[str, Any] | None:
        status = self.status(state.upload_id)
        if status is not None and status.get("status") == "finalized":
            return self._receipt_of_live_bid(sha256)
        return None

    def _receipt_of_live_bid(self, sha256: str) -> dict[str, Any] | None:
        try:
            bid = self.api.get_json(f"/api/v1/sections/{self.section_id}/bid")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        receipt = bid.get("receipt")
        if bid.get("ciphertext_sha256") == sha256 and isinstance(receipt, dict):
            return receipt
        return None

    def _abort_quietly(self, upload_id: str) -> None:
        try:
            self.api.delete(f"/api/v1/uploads/{upload_id}")
        except ApiError:
            pass  # it expires on its own

    def _finish(self, state: UploadState, receipt: dict[str, Any], *, resumed_from: int | None) -> Result:
        target = receipt_path(self.path)
        write_json_atomic(target, json.dumps(receipt, ensure_ascii=False, indent=2) + "\n", mode=0o644)
        state_path(self.path).unlink(missing_ok=True)
        return Result(
            receipt=receipt,
            receipt_file=target,
            upload_id=state.upload_id,
            resumed_from=resumed_from,
            sha256=state.sha256,
            size=state.size,
        )
