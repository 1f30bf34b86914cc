"""A bidder's client in its own process, for the "killed mid-upload" test: it resumes from the
server's status, sends the rest in chunks with httpx and finalizes. With ``--hang-at N`` it sends
half of the chunk that crosses byte N, prints HALF and hangs (to be killed with SIGKILL).

    python slow_client.py URL TOKEN UPLOAD_ID FILE CHUNK [--hang-at N]

Prints RESUMED <offset>, then RECEIPT <json> after a successful finalize. No Django."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator

import httpx


def main(argv: list[str]) -> int:
    url, token, upload_id, path, chunk = argv[:5]
    hang_at = int(argv[6]) if len(argv) > 6 and argv[5] == "--hang-at" else None
    size = int(chunk)
    with open(path, "rb") as source:
        data = source.read()
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    offset = int(client.get(f"/api/v1/uploads/{upload_id}").json()["received"])
    print(f"RESUMED {offset}", flush=True)
    while offset < len(data):
        piece = data[offset : offset + size]
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(piece))}
        if hang_at is not None and offset + len(piece) > hang_at:

            def half_then_hang(piece: bytes = piece) -> Iterator[bytes]:
                yield piece[: len(piece) // 2]
                print("HALF", flush=True)
                time.sleep(600)
                yield piece[len(piece) // 2 :]

            client.put(
                f"/api/v1/uploads/{upload_id}/chunks",
                params={"offset": offset},
                content=half_then_hang(),
                headers=headers,
            )
            return 3  # never reached: killed
        answer = client.put(
            f"/api/v1/uploads/{upload_id}/chunks", params={"offset": offset}, content=piece, headers=headers
        )
        answer.raise_for_status()
        offset = int(answer.json()["received"])
    final = client.post(f"/api/v1/uploads/{upload_id}/finalize")
    print(f"RECEIPT {json.dumps(final.json())}", flush=True)
    return 0 if final.status_code == 201 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
