"""Benchmark of the bid envelope (core.crypto.age) against the ``age`` binary, on files.

    .venv/bin/python benchmarks/bench_envelope.py [--size-mib 1024] [--runs 7]

Makes a random file of the given size in a temporary directory and an X25519 key, then times
*seal* (encrypt to the key) and *open* (decrypt with it) for tenderhall and for ``age`` in the same
run. Every operation runs in its own child process, timed end to end (wall clock, process start and
imports included) with its peak RSS from ``os.wait4``; the tenderhall child is this script's own
small CLI (``_seal``/``_open``) calling ``age.encrypt``/``age.decrypt`` on files. Both open the same
ciphertext (made by ``age``); runs alternate between the two implementations and the median is
reported. Outside the timer: both plaintexts match the source, and ``age`` opens tenderhall's seal.

Targets: tenderhall at least 0.8x the throughput of ``age``, peak RSS at most 128 MiB.
Prints a table and writes benchmarks/results/bench_envelope.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "bench_envelope.json"
TARGET_RATIO = 0.8
TARGET_RSS_MIB = 128.0
MIB = 1 << 20


@dataclass
class Measurement:
    seconds: float
    maxrss_mib: float
    user_s: float
    sys_s: float


@dataclass
class Row:
    operation: str
    implementation: str
    runs: list[Measurement] = field(default_factory=list)
    ratio: float | None = None
    passed: bool | None = None

    @property
    def median_s(self) -> float:
        return statistics.median(m.seconds for m in self.runs)

    @property
    def best_s(self) -> float:
        return min(m.seconds for m in self.runs)

    @property
    def peak_rss_mib(self) -> float:
        return max(m.maxrss_mib for m in self.runs)


# ---------------------------------------------------------------------------------------------
# The tenderhall side, run as a child process


def child(argv: Sequence[str]) -> None:
    from tenderhall.core.crypto import age

    command, key, src, dst = argv
    identities = age.load_identities(Path(key).read_text())
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        if command == "_seal":
            age.encrypt([i.recipient() for i in identities], fin, fout)
        else:
            age.decrypt(identities, fin, fout)


# ---------------------------------------------------------------------------------------------
# Driver


TIME = shutil.which("time", path="/usr/bin:/bin")


def run(cmd: list[str], scratch: Path) -> Measurement:
    """Run ``cmd`` once, after a ``sync`` so no earlier write-back lands in its time.

    Peak RSS comes from GNU time: ``wait4`` on our own child would report at least this
    (large) Python process's RSS, which Linux carries into the child's ``ru_maxrss`` across
    fork and exec.
    """
    os.sync()
    report = scratch / "time.txt"
    wrapped = [TIME, "-f", "%M %U %S", "-o", str(report), *cmd] if TIME else cmd
    errors = scratch / "stderr.txt"
    with errors.open("wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}): {errors.read_text(errors='replace')}")
    if TIME:
        maxrss_kib, user, system = report.read_text().split()[-3:]
        return Measurement(seconds, int(maxrss_kib) / 1024, float(user), float(system))
    # Upper bound without GNU time: ru_maxrss (KiB on Linux) includes our RSS at fork.
    return Measurement(seconds, usage.ru_maxrss / 1024, usage.ru_utime, usage.ru_stime)


def cpu_stall_us() -> int | None:
    """Total time some task waited for a CPU (PSI), to flag runs disturbed by other load."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first.rsplit("total=", 1)[1])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def make_random_file(path: Path, size: int) -> None:
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 8 * MIB)
            f.write(os.urandom(n))
            left -= n


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="plaintext size in MiB (default 1024)")
    parser.add_argument(
        "--runs", type=int, default=7, help="runs per operation and implementation (default 7)"
    )
    parser.add_argument("--age", default=shutil.which("age") or "age", help="the age binary")
    parser.add_argument("--dir", type=Path, default=None, help="where to make the temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.size_mib < 1 or args.runs < 1:
        parser.error("--size-mib and --runs must be >= 1")
    return args


def age_version(binary: str) -> str:
    return subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from tenderhall.core.crypto import age

    size = args.size_mib * MIB
    me = [sys.executable, str(Path(__file__).resolve())]
    work = Path(tempfile.mkdtemp(prefix="bench_envelope_", dir=args.dir))
    try:
        source, key = work / "source.bin", work / "key.txt"
        print(f"making {args.size_mib} MiB of random data in {work} …", flush=True)
        make_random_file(source, size)
        identity = age.generate_identity()
        key.write_text(age.format_identity_file(identity))
        recipient = str(identity.recipient())
        source_hash = sha256_file(source)

        sealed = {"age": work / "sealed.age.age", "tenderhall": work / "sealed.tenderhall.age"}
        opened = {"age": work / "opened.age.bin", "tenderhall": work / "opened.tenderhall.bin"}
        commands = {
            ("seal", "age"): [args.age, "-r", recipient, "-o", str(sealed["age"]), str(source)],
            ("seal", "tenderhall"): [*me, "_seal", str(key), str(source), str(sealed["tenderhall"])],
            # Both open the same ciphertext, the one age made.
            ("open", "age"): [args.age, "-d", "-i", str(key), "-o", str(opened["age"]), str(sealed["age"])],
            ("open", "tenderhall"): [*me, "_open", str(key), str(sealed["age"]), str(opened["tenderhall"])],
        }
        outputs = {
            ("seal", "age"): sealed["age"],
            ("seal", "tenderhall"): sealed["tenderhall"],
            ("open", "age"): opened["age"],
            ("open", "tenderhall"): opened["tenderhall"],
        }
        rows = {k: Row(*k) for k in commands}
        stall_before, clock_before = cpu_stall_us(), time.perf_counter()
        for number in range(args.runs):
            for operation in ("seal", "open"):
                order = ("age", "tenderhall") if number % 2 == 0 else ("tenderhall", "age")
                for implementation in order:
                    outputs[operation, implementation].unlink(missing_ok=True)
                    measurement = run(commands[operation, implementation], work)
                    rows[operation, implementation].runs.append(measurement)
                    print(
                        f"  run {number + 1}: {operation:<4} {implementation:<10} "
                        f"{size / MIB / measurement.seconds:8.1f} MiB/s  {measurement.maxrss_mib:6.1f} MiB RSS",
                        flush=True,
                    )

        stall_after, elapsed = cpu_stall_us(), time.perf_counter() - clock_before
        pressure = (
            (stall_after - stall_before) / 1e6 / elapsed
            if stall_before is not None and stall_after is not None
            else 0.0
        )

        # Correctness, outside the timer.
        for implementation in ("age", "tenderhall"):
            assert sha256_file(opened[implementation]) == source_hash, f"{implementation} opened wrong data"
        check = work / "check.bin"
        subprocess.run(
            [args.age, "-d", "-i", str(key), "-o", str(check), str(sealed["tenderhall"])], check=True
        )
        assert sha256_file(check) == source_hash, "age did not open tenderhall's seal"
        overhead = {i: sealed[i].stat().st_size - size for i in sealed}
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    for operation in ("seal", "open"):
        base = rows[operation, "age"]
        ours = rows[operation, "tenderhall"]
        ours.ratio = base.median_s / ours.median_s
        ours.passed = ours.ratio >= TARGET_RATIO and ours.peak_rss_mib <= TARGET_RSS_MIB

    header = f"{'operation':<9} {'implementation':<14} {'MiB/s':>8} {'best':>8} {'peak RSS MiB':>13} {'vs age':>7}  {'target':<26} result"
    print()
    print(
        f"age v1 envelope, {args.size_mib} MiB; MiB/s end to end (process start included), median and best "
        f"of {args.runs} run(s); age {age_version(args.age)}; CPU pressure during the runs {pressure:.0%}"
    )
    print(header)
    print("-" * len(header))
    for (operation, implementation), row in rows.items():
        mibs = size / MIB / row.median_s
        if implementation == "age":
            ratio, target, verdict = "1.00x", "(baseline)", ""
        else:
            ratio = f"{row.ratio:.2f}x"
            target = f">= {TARGET_RATIO}x age, <= {TARGET_RSS_MIB:.0f} MiB"
            verdict = "pass" if row.passed else "FAIL"
        print(
            f"{operation:<9} {implementation:<14} {mibs:8.1f} {size / MIB / row.best_s:8.1f} {row.peak_rss_mib:13.1f} {ratio:>7}  {target:<26} {verdict}"
        )
    print(f"\nciphertext overhead (bytes): {overhead}")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "bench_envelope",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "size_mib": args.size_mib,
        "runs": args.runs,
        "age": age_version(args.age),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "rss_source": "GNU time %M" if TIME else "wait4 ru_maxrss (upper bound)",
        "targets": {"ratio_vs_age": TARGET_RATIO, "peak_rss_mib": TARGET_RSS_MIB},
        "overhead_bytes": overhead,
        "cpu_pressure_some": pressure,
        "rows": [
            {
                **{k: v for k, v in asdict(row).items() if k != "runs"},
                "mib_per_s": size / MIB / row.median_s,
                "median_s": row.median_s,
                "best_mib_per_s": size / MIB / row.best_s,
                "peak_rss_mib": row.peak_rss_mib,
                "measurements": [asdict(m) for m in row.runs],
            }
            for row in rows.values()
        ],
        "passed": all(row.passed for row in rows.values() if row.passed is not None),
    }
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.output}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("_seal", "_open"):
        child(sys.argv[1:])
    else:
        sys.exit(main())
