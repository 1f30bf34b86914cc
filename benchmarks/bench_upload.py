"""Benchmark of the sealed-bid upload (bidding app) through a real server, on the embedded profile.

    .venv/bin/python benchmarks/bench_upload.py [--size-mib 1024] [--chunk-mib N] [--keep]

1. Builds the data with the services in a fresh data dir (``tenderhall demo``: an announced section
   with its opening key, bidders who obtained the documents; SQLite as settings.py configures it),
   issues an API token to a bidder, and makes a random age file of the given size sealed as the
   contract says (two X25519 recipients, the opening-key claim stanza first).
2. Starts ``tenderhall serve --no-worker`` on a free 127.0.0.1 port (uvicorn, ASGI, one process).
3. Times ``sha256sum`` on the file (the baseline, same run, warm page cache like the upload).
4. Uploads the file with a separate lean client process (httpx, no Django): create, every chunk
   streamed from disk 1 MiB at a time with its Content-Length, finalize; its wall time from the
   first request to the receipt, and its own peak RSS (VmHWM).
5. Reads the server's peak RSS (VmHWM of every process in its tree) and checks the result: the
   stored bid equals the file, no part file is left, the receipt verifies offline.

Targets: upload+finalize ≤ 3 × sha256sum; server peak RSS ≤ 150 MiB. Prints a table (metric,
value, target, pass/fail) and writes benchmarks/results/bench_upload.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "bench_upload.json"
MIB = 1 << 20
READ_PIECE = MIB
TARGET_TIME_RATIO = 3.0
TARGET_SERVER_RSS_MIB = 150.0


@dataclass
class Row:
    metric: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None  # None: informational

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("pass" if self.passed else "FAIL")


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---- the client (a separate process: `bench_upload.py --client ...`), no Django ------------------


def vm_hwm_mib(pid: int | str = "self") -> float:
    """Peak resident set (VmHWM) of one process, MiB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def client_main(url: str, token: str, section: int, path: Path, chunk_mib: int | None) -> int:
    import httpx

    size = path.stat().st_size
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "bench-upload/1"}
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=600) as http, path.open("rb") as source:
        created = http.post(f"/api/v1/sections/{section}/uploads", json={"size": size})
        created.raise_for_status()
        upload = created.json()
        chunk = min(upload["chunk_size"], chunk_mib * MIB) if chunk_mib else upload["chunk_size"]
        offset = 0
        while offset < size:
            length = min(chunk, size - offset)

            def body(length: int = length) -> Iterator[bytes]:
                left = length
                while left:
                    piece = source.read(min(READ_PIECE, left))
                    if not piece:
                        raise OSError("the file shrank")
                    left -= len(piece)
                    yield piece

            answer = http.put(
                f"/api/v1/uploads/{upload['upload_id']}/chunks",
                params={"offset": offset},
                content=body(),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(length)},
            )
            answer.raise_for_status()
            offset = answer.json()["received"]
        final = http.post(f"/api/v1/uploads/{upload['upload_id']}/finalize")
        final.raise_for_status()
        receipt = final.json()
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "chunk": chunk, "rss_mib": vm_hwm_mib(), "receipt": receipt}))
    return 0


# ---- the benchmark ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the sealed bid (default 1024)")
    parser.add_argument("--chunk-mib", type=int, default=None, help="chunk size (default: the server's)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--client", nargs=4, metavar=("URL", "TOKEN", "SECTION", "FILE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.size_mib < 1:
        parser.error("--size-mib must be at least 1")
    return args


def setup_django(data_dir: Path) -> None:
    """The embedded profile, untouched: no DATABASE_URL, no test settings."""
    os.environ["TENDERHALL_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tenderhall.settings"
    for name in (
        "DATABASE_URL",
        "TENDERHALL_TESTING",
        "TENDERHALL_TEST_DATABASE_URL",
        "TENDERHALL_S3_BUCKET",
    ):
        os.environ.pop(name, None)
    src = ROOT / "src"
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def build_world() -> dict[str, Any]:
    """`tenderhall demo` (services only), then a token for a bidder who obtained the documents."""
    from django.core.management import call_command

    from tenderhall.accounts.services import api_token_issue
    from tenderhall.notices.models import DocumentObtainment, OpeningKey

    with open(os.devnull, "w") as quiet:
        call_command("demo", stdout=quiet)
    obtained = DocumentObtainment.objects.select_related("user", "section").order_by("pk").first()
    assert obtained is not None, "the demo has no obtained documents"
    token, _ = api_token_issue(user=obtained.user)
    key = OpeningKey.objects.get(section=obtained.section)
    return {"section": obtained.section.pk, "token": token, "recipient": key.recipient, "user": obtained.user}


class _RandomReader:
    """``size`` pseudo-random bytes, read in pieces (never all in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = os.urandom(4 * MIB)
        self.turn = 0

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        out = bytearray()
        while len(out) < n:
            start = (self.turn * 7919) % (len(self.block) - 1)
            self.turn += 1
            out += self.block[start : start + min(n - len(out), len(self.block) - start)]
        self.left -= n
        return bytes(out)


def _sealed_size(header: int, plain: int) -> int:
    chunks = max(1, -(-plain // (64 * 1024)))
    return header + 16 + plain + 16 * chunks


def make_sealed_file(path: Path, size: int, recipient: str) -> int:
    """An age file of (at most, and as near as the format allows) ``size`` bytes, sealed as the
    contract says: to the bidder's own key and the opening key, the claim stanza first."""
    from tenderhall.core.crypto import age

    opening = age.X25519Recipient.from_string(recipient)
    own = age.generate_identity().recipient()

    def ephemeral(file_key: bytes, r: age.X25519Recipient) -> Any:
        return age.opening_ephemeral(file_key, r) if r == opening else None

    def seal(src: Any, dst: Any) -> None:
        age.encrypt(
            [own, opening],
            src,
            dst,
            extra_stanzas=[age.opening_claim_stanza(opening)],
            ephemeral_for=ephemeral,
        )

    import io

    probe = io.BytesIO()
    seal(io.BytesIO(b""), probe)
    header = len(probe.getvalue()) - 32
    plain = max(0, size - header - 32)
    while plain > 0 and _sealed_size(header, plain) > size:
        plain -= 1
    with path.open("wb", buffering=4 * MIB) as out:
        seal(_RandomReader(plain), out)
    return path.stat().st_size


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TENDERHALL_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("tenderhall")),
            "serve",
            "--no-worker",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/log/key", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not answer within 60 s")


def process_tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return pids


def timed_sha256sum(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - started, out.split()[0]


def verify_receipt(receipt: dict[str, Any]) -> bool:
    from tenderhall.client import receipt as tool_receipt
    from tenderhall.core import keys

    try:
        tool_receipt.verify_receipt(receipt, tool_receipt.PlatformKey.from_pem(keys.public_key_pem()))
    except Exception:
        return False
    return True


def run(args: argparse.Namespace, data_dir: Path) -> tuple[list[Row], dict[str, Any]]:
    progress("building the data with the services (tenderhall demo)")
    setup_django(data_dir)
    world = build_world()
    bid_file = data_dir / "bench-bid.age"
    progress(f"sealing a random {args.size_mib} MiB bid")
    size = make_sealed_file(bid_file, args.size_mib * MIB, world["recipient"])
    port = free_port()
    progress(f"starting `tenderhall serve --no-worker` on 127.0.0.1:{port}")
    server = start_server(data_dir, port)
    info: dict[str, Any] = {"file_bytes": size, "port": port}
    try:
        baseline_rss = {p: vm_hwm_mib(p) for p in process_tree(server.pid)}
        info["server_rss_before_upload_mib"] = sum(baseline_rss.values())
        progress("sha256sum (baseline)")
        sha_seconds, sha_hex = timed_sha256sum(bid_file)
        progress("uploading")
        client = subprocess.run(
            [
                sys.executable,
                __file__,
                "--client",
                f"http://127.0.0.1:{port}",
                world["token"],
                str(world["section"]),
                str(bid_file),
            ]
            + (["--chunk-mib", str(args.chunk_mib)] if args.chunk_mib else []),
            capture_output=True,
            text=True,
            check=False,
        )
        if client.returncode != 0:
            raise SystemExit(f"the upload failed:\n{client.stderr[-3000:]}")
        result = json.loads(client.stdout.strip().splitlines()[-1])
        tree = process_tree(server.pid)
        server_rss = {p: vm_hwm_mib(p) for p in tree}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    # Checks, outside the timers.
    from tenderhall.bidding.models import Bid
    from tenderhall.bidding.services import upload_dir

    receipt = result["receipt"]
    bid = Bid.objects.get(log_index=receipt["log"]["index"])
    stored_ok = receipt["ciphertext_sha256"] == sha_hex and bid.ciphertext_sha256 == sha_hex
    with bid.file.open("rb") as stored:
        digest = hashlib.sha256()
        while piece := stored.read(8 * MIB):
            digest.update(piece)
    stored_ok = stored_ok and digest.hexdigest() == sha_hex
    leftovers = sorted(p.name for p in upload_dir().glob("*")) if upload_dir().exists() else []
    receipt_ok = verify_receipt(receipt)
    if not (stored_ok and receipt_ok and not leftovers):
        raise SystemExit(f"check failed: stored={stored_ok} receipt={receipt_ok} leftovers={leftovers}")

    seconds = float(result["seconds"])
    ratio = seconds / sha_seconds
    server_peak = sum(server_rss.values())
    rows = [
        Row("file size", size / MIB, "MiB"),
        Row("chunk size", result["chunk"] / MIB, "MiB"),
        Row("sha256sum (baseline, same run)", sha_seconds, "s"),
        Row("upload + finalize wall time", seconds, "s"),
        Row("upload throughput", size / MIB / seconds, "MiB/s"),
        Row(
            "upload time / sha256sum time",
            ratio,
            "x",
            f"<= {TARGET_TIME_RATIO:g}x",
            ratio <= TARGET_TIME_RATIO,
        ),
        Row(
            f"server peak RSS ({len(server_rss)} process{'es' if len(server_rss) > 1 else ''})",
            server_peak,
            "MiB",
            f"<= {TARGET_SERVER_RSS_MIB:g} MiB",
            server_peak <= TARGET_SERVER_RSS_MIB,
        ),
        Row("server RSS before the upload", info["server_rss_before_upload_mib"], "MiB"),
        Row("client peak RSS", float(result["rss_mib"]), "MiB"),
    ]
    info.update(
        {
            "stored_file_matches": stored_ok,
            "receipt_verifies": receipt_ok,
            "part_files_left": leftovers,
            "log_index": receipt["log"]["index"],
            "server_processes": len(server_rss),
        }
    )
    return rows, info


def fmt(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def print_table(rows: list[Row]) -> None:
    header = ("metric", "value", "target", "pass/fail")
    cells = [(r.metric, f"{fmt(r.value)} {r.unit}", r.target, r.verdict) for r in rows]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(line)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for c in cells:
        print(f"{c[0].ljust(widths[0])}  {c[1].rjust(widths[1])}  {c[2].ljust(widths[2])}  {c[3]}")
    print(line)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.client:
        url, token, section, path = args.client
        return client_main(url, token, int(section), Path(path), args.chunk_mib)
    data_dir = Path(tempfile.mkdtemp(prefix="tenderhall-bench-upload-"))
    started = time.time()
    try:
        rows, info = run(args, data_dir)
    finally:
        if args.keep:
            progress(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    print_table(rows)
    ok = all(r.passed is not False for r in rows)
    report = {
        "benchmark": "bench_upload",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 1),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "args": {"size_mib": args.size_mib, "chunk_mib": args.chunk_mib},
        "rows": [asdict(r) | {"verdict": r.verdict} for r in rows],
        "info": info,
        "all_targets_met": ok,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{'all targets met' if ok else 'TARGETS MISSED'}; wrote {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
