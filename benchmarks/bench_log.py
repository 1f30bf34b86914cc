"""Benchmark of the transparency log (core.transparency) on the embedded profile.

    .venv/bin/python benchmarks/bench_log.py [--leaves N] [--singles M] [--samples K]

Runs against a fresh data dir with the SQLite database exactly as settings.py configures it (a file,
WAL, synchronous=FULL: every commit is durable), never an in-memory database. Measures:

a. durable single appends/s: each ``log_append`` its own committed transaction;
b. batched appends/s: ``log_append_many`` with 1,000 events per transaction, until the log holds N;
c. inclusion proof time at N leaves (``inclusion_proof_for``, p50/p99 over random leaves), after the
   per-process tree cache is built; the build (warm-up) time is reported on its own row;
d. consistency proof time at N leaves (``consistency_proof_for`` from random signed tree heads);
e. the ceiling: a bare ``hashlib.sha256`` loop over the same N leaf payloads (leaves/s);
f. ``audit verify`` (``verify_log``) over the whole log, for information.

Every proof timed is also checked (outside the timer) against the signed tree head.
Prints a table (metric, value, target, pass/fail) and writes benchmarks/results/bench_log.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "bench_log.json"
BATCH = 1_000

TARGET_BATCHED_PER_S = 5_000.0
TARGET_INCLUSION_MS = 1.0


@dataclass
class Row:
    metric: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None  # None: informational, no target

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("pass" if self.passed else "FAIL")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=1_000_000, help="log size to reach (default 1,000,000)")
    parser.add_argument(
        "--singles", type=int, default=2_000, help="durable single appends to time (default 2,000)"
    )
    parser.add_argument("--samples", type=int, default=1_000, help="proofs to time (default 1,000)")
    parser.add_argument("--seed", type=int, default=20261001)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument("--no-verify", action="store_true", help="skip the audit-verify row")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.leaves < 2 or args.singles < 1 or args.samples < 1:
        parser.error("--leaves must be >= 2, --singles and --samples >= 1")
    args.singles = min(args.singles, args.leaves)
    return args


def setup_django(data_dir: str) -> None:
    """The embedded profile, untouched: no DATABASE_URL, no test settings."""
    os.environ["TENDERHALL_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "tenderhall.settings"
    for name in ("DATABASE_URL", "TENDERHALL_TESTING", "TENDERHALL_TEST_DATABASE_URL"):
        os.environ.pop(name, None)
    src = HERE.parent / "src"
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def event_data(n: int) -> dict[str, Any]:
    """What a typical service logs: identifiers and hashes, never the secret itself."""
    return {
        "section": f"JS-2026-{n // 50:06d}",
        "bid_sha256": hashlib.sha256(n.to_bytes(8, "big")).hexdigest(),
        "amount": f"{(n * 7919) % 100_000_000}.00",
        "seq": n,
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    from django.db import connection, transaction

    from tenderhall.core import keys, merkle, transparency
    from tenderhall.core.models import LogEvent, SignedTreeHead
    from tenderhall.core.transparency import EventSpec, log_append, log_append_many

    rng = random.Random(args.seed)
    rows: list[Row] = []
    info: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        info["journal_mode"] = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        info["synchronous"] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cursor.fetchone()[0]]
    info["database"] = connection.settings_dict["NAME"]
    if info["journal_mode"] != "wal" or info["synchronous"] != "FULL":
        raise SystemExit(
            f"expected WAL + synchronous=FULL, got {info['journal_mode']} + {info['synchronous']}"
        )
    keys.platform_key()  # make the key file outside the timers

    # (a) durable single appends
    progress(f"(a) {args.singles:,} single appends, one committed transaction each")
    elapsed, _ = timed(
        lambda: [log_append(action="bench.single", data=event_data(n)) for n in range(args.singles)]
    )
    rows.append(Row("a. durable single appends", args.singles / elapsed, "appends/s"))
    rows.append(Row("a. single append latency (mean)", elapsed / args.singles * 1e3, "ms"))

    # (b) batched appends until the log holds N
    size = args.singles
    batch_times: list[float] = []
    progress(f"(b) batched appends ({BATCH:,} per transaction) up to {args.leaves:,} leaves")
    next_report = size + 100_000
    while size < args.leaves:
        count = min(BATCH, args.leaves - size)
        specs = [EventSpec(action="bench.batch", data=event_data(size + i)) for i in range(count)]

        def append(specs: list[EventSpec] = specs) -> None:
            with transaction.atomic():
                log_append_many(specs)

        batch_times.append(timed(append)[0])
        size += count
        if size >= next_report:
            recent = batch_times[-100:]
            progress(
                f"    {size:,} leaves, last 100 batches {len(recent) * BATCH / sum(recent):,.0f} appends/s"
            )
            next_report += 100_000
    batched = args.leaves - args.singles
    if batch_times:
        rate = batched / sum(batch_times)
        rows.append(
            Row(
                "b. batched appends",
                rate,
                "appends/s",
                f">= {TARGET_BATCHED_PER_S:,.0f}",
                rate >= TARGET_BATCHED_PER_S,
            )
        )
        rows.append(Row("b. batch of 1,000 commit time p50", percentile(batch_times, 50) * 1e3, "ms"))
        rows.append(Row("b. batch of 1,000 commit time p99", percentile(batch_times, 99) * 1e3, "ms"))
        tenth = max(1, len(batch_times) // 10)
        info["batched_rate_first_tenth"] = tenth * BATCH / sum(batch_times[:tenth])
        info["batched_rate_last_tenth"] = tenth * BATCH / sum(batch_times[-tenth:])
    assert LogEvent.objects.count() == args.leaves
    sth = transparency.latest_sth()
    assert sth is not None and sth.tree_size == args.leaves
    root = bytes.fromhex(sth.root_hash)
    public_key = keys.platform_key().public_key()
    assert transparency.verify_sth(transparency.sth_as_dict(sth), public_key)

    # (c) inclusion proofs
    indices = [rng.randrange(args.leaves) for _ in range(args.samples)]
    by_index = dict(LogEvent.objects.filter(index__in=set(indices)).values_list("index", "leaf_hash"))
    progress("(c) inclusion proofs: building the tree cache (first proof)")
    warm, _ = timed(lambda: transparency.inclusion_proof_for(by_index[indices[0]]))
    rows.append(Row(f"c. tree cache build at {args.leaves:,} leaves (first proof)", warm, "s"))
    times: list[float] = []
    proofs = []
    for index in indices:
        leaf = by_index[index]
        took, proof = timed(lambda leaf=leaf: transparency.inclusion_proof_for(leaf))
        times.append(took)
        proofs.append((index, leaf, proof))
    bad = sum(
        not merkle.verify_inclusion(
            bytes.fromhex(leaf), index, p["tree_size"], [bytes.fromhex(h) for h in p["audit_path"]], root
        )
        for index, leaf, p in proofs
    )
    if bad:
        raise SystemExit(f"{bad} inclusion proofs did not verify")
    p99 = percentile(times, 99) * 1e3
    rows.append(Row("c. inclusion proof p50", percentile(times, 50) * 1e3, "ms"))
    rows.append(
        Row(
            f"c. inclusion proof p99 at {args.leaves:,}",
            p99,
            "ms",
            f"<= {TARGET_INCLUSION_MS} ms",
            p99 <= TARGET_INCLUSION_MS,
        )
    )
    tree = transparency._cache.synced()
    tree_times = [timed(lambda i=i: tree.inclusion_proof(i, args.leaves))[0] for i in indices]
    rows.append(Row("c. of which in-memory tree path p50", percentile(tree_times, 50) * 1e3, "ms"))

    # (d) consistency proofs from random signed tree heads to the latest
    heads = list(SignedTreeHead.objects.values_list("tree_size", "root_hash"))
    picks = [rng.choice(heads) for _ in range(args.samples)]
    times = []
    for first, first_root in picks:
        took, proof = timed(lambda first=first: transparency.consistency_proof_for(first))
        times.append(took)
        path = [bytes.fromhex(h) for h in proof["consistency"]]
        if not merkle.verify_consistency(first, args.leaves, bytes.fromhex(first_root), root, path):
            raise SystemExit(f"consistency proof {first} -> {args.leaves} did not verify")
    rows.append(Row("d. consistency proof p50", percentile(times, 50) * 1e3, "ms"))
    rows.append(Row("d. consistency proof p99", percentile(times, 99) * 1e3, "ms"))

    # (e) the ceiling: bare SHA-256 over the same leaf payloads
    progress("(e) bare hashlib.sha256 over the stored payloads")
    hashing = 0.0
    sha256 = hashlib.sha256
    for start in range(0, args.leaves, 50_000):
        chunk = [
            b"\x00" + p.encode()
            for p in LogEvent.objects.filter(index__gte=start, index__lt=start + 50_000)
            .order_by("index")
            .values_list("payload", flat=True)
        ]
        t0 = time.perf_counter()
        for entry in chunk:
            sha256(entry).digest()
        hashing += time.perf_counter() - t0
    rows.append(Row("e. ceiling: bare sha256 of the payloads", args.leaves / hashing, "leaves/s"))
    info["mean_payload_bytes"] = round(
        sum(len(p) for p in LogEvent.objects.filter(index__lt=1000).values_list("payload", flat=True))
        / min(1000, args.leaves)
    )

    # (f) audit verify
    if not args.no_verify:
        progress("(f) audit verify over the whole log")
        took, result = timed(transparency.verify_log)
        if not result.ok:
            raise SystemExit(f"verify_log failed: {result.problem}")
        rows.append(Row(f"f. audit verify of {args.leaves:,} events", took, "s"))
        rows.append(Row("f. audit verify rate", args.leaves / took, "events/s"))
    db = Path(info["database"])
    info["database_bytes"] = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    return rows, info


def fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


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
    data_dir = tempfile.mkdtemp(prefix="tenderhall-bench-log-")
    started = time.time()
    try:
        setup_django(data_dir)
        rows, info = run(args)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    print_table(rows)
    ok = all(r.passed is not False for r in rows)
    report = {
        "benchmark": "bench_log",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "leaves": args.leaves,
        "singles": args.singles,
        "samples": args.samples,
        "batch": BATCH,
        "wall_seconds": round(time.time() - started, 1),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "sqlite": __import__("sqlite3").sqlite_version,
            **{k: v for k, v in info.items() if k != "database"},
        },
        "targets": {
            "batched_appends_per_s": TARGET_BATCHED_PER_S,
            "inclusion_proof_p99_ms": TARGET_INCLUSION_MS,
        },
        "rows": [{**asdict(r), "verdict": r.verdict} for r in rows],
        "ok": ok,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{'all targets met' if ok else 'TARGETS MISSED'}; wrote {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
