"""Benchmark of the remote bid opening hall (issue 5) through a real server: N bidders with 1 MiB
sealed bids sign in and unlock at once while M more people watch the hall live.

    .venv/bin/python benchmarks/bench_opening.py [--bidders 1000] [--watchers 1000] [--bid-kib 1024]
        [--profile embedded|cluster|all] [--timeout 600] [--keep]

For each profile (embedded: SQLite, in-memory channel layer, one ASGI process; cluster: a fresh
PostgreSQL database, channels-redis, ``--workers 2`` — run when PostgreSQL on 127.0.0.1:5432 and
Redis on 127.0.0.1:6379 answer):

1. Setup, in a subprocess with the profile's environment (DJANGO_SETTINGS_MODULE=tenderhall.settings,
   everything through the services): ``tenderhall demo`` for the platform (staff, agent, the demo
   CAs); N bidder organizations, each with a bidder (a signing certificate from the demo CA,
   registered) and the watchers as their colleagues (bidder accounts of the same organizations: the
   hall lets those who obtained the documents watch; they get another bidder's events filtered).
   With the clock (core.clock) set 45 days back: a project is registered and announced, every
   bidder obtains the documents, builds a real bid package (tenderhall.client.package, a random
   attachment making the sealed file ``--bid-kib``), seals it with age to its own key and the
   opening key (sealing in parallel processes) and submits it with upload_create /
   upload_append_chunk / bid_finalize before the deadline. At the deadline ``opening_start``. The
   watchers' browser sessions are made as ``django.contrib.auth.login`` makes them. Account
   passwords are random, never used, and hashed with MD5 in the setup process only (argon2 would
   take ~0.25 s per account; nobody signs in with a password here).
2. ``tenderhall serve --no-worker`` on a free port (real clock: the deadline is long past).
3. One client process (asyncio; httpx and websockets; no Django): the bidders and the host log in
   with their certificates (``/auth/challenge`` + ``/auth/certificate``, as ``tenderhall-bid login``);
   the watchers open ``/ws/hall/<section>/?after=SEQ`` with their session cookies; all bidders sign
   in to the hall at once (hall challenge signed with the certificate key); the host opens the
   decryption window; then all bidders unlock at once, each as ``tenderhall-bid unlock`` does
   (GET bid/header, unwrap the file key locally, POST hall/unlock) — without its status polling.
   A watcher whose connection drops reconnects with the last seq it saw.

Measured from the watchers' side: time from the start of the unlocks to the last watcher getting
the last "decrypted" status; p50/p99 over bids from the unlock POST to its "queued" and its
"decrypted" status reaching every watcher; events lost (each watcher must see every seq once, in
order, up to the hall's last); sign-in p50/p99; server peak RSS (VmHWM over its process tree) and
CPU. Targets (issue 5): all decrypted ≤ 60 s, p99 ≤ 1 s, nothing lost, on 2 cores. Prints a table
and writes benchmarks/results/bench_opening.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import io
import json
import math
import os
import platform
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "bench_opening.json"
KIB = 1024
MIB = 1 << 20
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = 13  # a database of its own: the hall's group names cannot meet another run's
TARGET_ALL_DECRYPTED_S = 60.0
TARGET_P99_S = 1.0
QUIET_S = 10.0  # nothing new at any watcher for this long, the server idle: nothing more will come
WINDOW_MINUTES = 120
FINAL = ("decrypted", "failed", "backup_decrypted")


@dataclass
class Row:
    metric: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None  # None: informational

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("pass" if self.passed else "MISS")


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] {message}", file=sys.stderr, flush=True)


def vm_hwm_mib(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


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


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime of the processes (all their threads), seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)  # nearest rank
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


# ---- setup (a subprocess with Django and the profile's environment) -------------------------------


def _seal_one(task: tuple[int, dict[str, Any]]) -> tuple[int, bytes]:
    """Build one bidder's real package and seal it (a pool worker: crypto only, no database)."""
    from tenderhall.client import package as bid_package
    from tenderhall.core.crypto import age

    index, t = task
    signer = bid_package.Signer.load(t["key_pem"].encode(), t["cert_pem"].encode(), None)
    own = age.X25519Identity.from_string(t["identity"]).recipient()
    opening = age.X25519Recipient.from_string(t["opening"])
    with tempfile.TemporaryDirectory(prefix="bench-opening-") as tmp:
        attachment = Path(tmp) / "tech.pdf"
        attachment.write_bytes(b"%PDF-1.7\n" + os.urandom(max(t["attachment_bytes"] - 9, 0)))
        plain = io.BytesIO()
        bid_package.build_package(
            plain,
            section_id=t["section_id"],
            section_code=t["section_code"],
            opening_summary={
                "price": f"{6_000_000 + index * 37}.00",
                "duration_days": 150 + index % 60,
                "quality": "合格",
                "project_manager": {
                    "name": f"项目经理{index + 1}",
                    "certificate_number": f"基{index + 1:08d}",
                },
            },
            bond_reference=f"BENCH-BOND-{index + 1:05d}",
            attachments=[("attachments/技术标.pdf", attachment)],
            signer=signer,
            machine={
                "machine_code": f"bench-{index}",
                "mac": f"02:00:00:{index >> 16 & 255:02x}:{index >> 8 & 255:02x}:{index & 255:02x}",
                "disk_serial": f"BENCH-DISK-{index}",
                "cpu_id": f"BENCH-CPU-{index}",
                "tool_version": "bench",
            },
            made_at=dt.datetime.fromisoformat(t["made_at"]),
        )

    def ephemeral(file_key: bytes, recipient: Any) -> Any:
        return age.opening_ephemeral(file_key, recipient) if recipient == opening else None

    sealed = io.BytesIO()
    age.encrypt(
        [own, opening],
        io.BytesIO(plain.getvalue()),
        sealed,
        extra_stanzas=[age.opening_claim_stanza(opening)],
        ephemeral_for=ephemeral,
    )
    return index, sealed.getvalue()


def _upload_checklist(agent: Any, project: Any) -> None:
    """Every registration document the checklist asks for (as ``tenderhall demo`` does)."""
    from tenderhall.projects import selectors as project_selectors
    from tenderhall.projects import services as project_services

    for item in list(project_selectors.missing_items(project)):
        project_services.project_document_upload(
            acting_user=agent,
            project=project,
            checklist_item=item,
            file=io.BytesIO(f"{project.title}\n{item.name}\n（基准测试 / benchmark）\n".encode()),
            filename=f"{item.name}.txt",
        )


def setup_main(out: Path, bidders: int, watchers: int, bid_kib: int, jobs: int) -> int:
    import multiprocessing

    import django

    started = time.perf_counter()
    timings: dict[str, float] = {}
    django.setup()
    from django.conf import settings
    from django.contrib.auth import login
    from django.core.management import call_command
    from django.db import connections, transaction
    from django.http import HttpRequest
    from django.test import override_settings

    from tenderhall.accounts import services as accounts_services
    from tenderhall.accounts.models import OrganizationKind, Role, User
    from tenderhall.bidding import services as bidding_services
    from tenderhall.core import clock, ids
    from tenderhall.core.calendar import stored_calendar
    from tenderhall.core.crypto import age, certs
    from tenderhall.core.crypto.ca_store import CaStore
    from tenderhall.notices import services as notice_services
    from tenderhall.notices import timeline
    from tenderhall.notices.models import OpeningKey
    from tenderhall.opening import services as opening_services
    from tenderhall.projects import services as project_services
    from tenderhall.projects.services import SectionSpec

    call_command("migrate", verbosity=0)
    # The demo's scripted opening expects its unlocks decrypted in the request (it closes the
    # window right after); in this process only, so the server below decrypts in the background.
    with open(os.devnull, "w") as quiet, override_settings(TENDERHALL_DECRYPT_INLINE=True):
        call_command("demo", stdout=quiet)
    timings["demo_s"] = time.perf_counter() - started
    progress(f"setup: demo data ready ({timings['demo_s']:.0f} s)")
    data_dir = Path(settings.DATA_DIR)
    staff = User.objects.get(username="staff")
    agent = User.objects.get(username="agent")
    tenderer = User.objects.get(username="tenderer")
    store = CaStore(data_dir / "ca")
    ca_name = store.names()[0]
    real_now = clock.now()
    issued = real_now - dt.timedelta(days=89)  # the demo CAs date from 90 days ago

    # Accounts, at the real time (as the demo registers its own).
    mark = time.perf_counter()
    people: list[dict[str, Any]] = []
    bidder_users: list[User] = []
    watcher_users: list[User] = []
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for first in range(0, bidders, 100):
            with transaction.atomic():
                for i in range(first, min(first + 100, bidders)):
                    org = accounts_services.organization_register(
                        acting_user=staff,
                        name=f"基准投标单位{i + 1:04d}工程有限公司",
                        uscc=ids.make_uscc(f"91120000MA{i + 1:06d}"),
                        kind=OrganizationKind.BIDDER,
                        region="示范市",
                    )
                    user = accounts_services.user_register(
                        acting_user=staff,
                        username=f"bench-bidder-{i + 1:04d}",
                        password=secrets.token_urlsafe(24),
                        role=Role.BIDDER,
                        organization=org,
                        display_name=f"投标人{i + 1}",
                    )
                    key = certs.generate_signing_key("ed25519")
                    subject = certs.make_subject(
                        common_name=user.username, organization=org.name, uscc=org.uscc
                    )
                    csr = certs.create_csr(signing_key=key, subject=subject)
                    cert = store.issue_signing(ca_name, csr_pem=certs.csr_to_pem(csr), now=issued)
                    cert_pem = certs.certificate_to_pem(cert).decode()
                    accounts_services.certificate_register(
                        acting_user=None, organization=org, certificate_pem=cert_pem, holder=user
                    )
                    bidder_users.append(user)
                    people.append(
                        {
                            "username": user.username,
                            "key_pem": certs.private_key_to_pem(key).decode(),
                            "cert_pem": cert_pem,
                            "identity": str(age.generate_identity()),
                        }
                    )
        for first in range(0, watchers, 100):
            with transaction.atomic():
                for j in range(first, min(first + 100, watchers)):
                    colleague_of = bidder_users[j % bidders]
                    watcher_users.append(
                        accounts_services.user_register(
                            acting_user=staff,
                            username=f"bench-watcher-{j + 1:04d}",
                            password=secrets.token_urlsafe(24),
                            role=Role.BIDDER,
                            organization=colleague_of.organization,
                            display_name=f"观看者{j + 1}",
                        )
                    )
    timings["accounts_s"] = time.perf_counter() - mark
    progress(f"setup: accounts and certificates registered ({timings['accounts_s']:.0f} s)")

    # The tender, 45 days back.
    mark = time.perf_counter()
    start = real_now - dt.timedelta(days=45)
    clock.set_now(start)
    assert tenderer.organization and agent.organization and staff.organization
    project = project_services.project_register(
        acting_user=agent,
        title="基准测试市政道路改造工程",
        category="construction",
        procedure="open",
        sections=[SectionSpec("基准标段", "6500000.00", "120000.00", "lowest_evaluated_price")],
        description="开标大厅基准测试项目 / opening hall benchmark project",
        tenderer=tenderer.organization,
        agent=agent.organization,
        centre=staff.organization,
        region="示范市",
    )
    _upload_checklist(agent, project)
    project_services.project_submit(acting_user=agent, project=project)
    project_services.project_confirm(acting_user=staff, project=project)
    project.refresh_from_db()
    today = clock.today_local()
    plan = timeline.compute_timeline(procedure="open", docs_issued=today, calendar=stored_calendar())
    deadline = dt.datetime.combine(
        plan.earliest_deadline + dt.timedelta(days=1), dt.time(9, 30), tzinfo=clock.LOCAL_TZ
    )
    assert deadline < real_now, "the lawful deadline would not be in the past"
    section = project.sections.get()
    notice = notice_services.notice_draft(
        acting_user=agent,
        project=project,
        kind="tender",
        title=f"{project.title}招标公告",
        body="基准测试招标公告：电子投标文件须使用开标公钥加密后于投标截止时间前上传（不见面开标）。",
        section_ids=[section.pk],
        docs_sale_start=today,
        docs_sale_end=plan.rule(timeline.DOCS_SALE_PERIOD).earliest,
        bid_deadline=deadline,
        opening_at=deadline,
    )
    notice_services.notice_publish(acting_user=agent, notice=notice)
    notice_services.document_publish(
        acting_user=agent,
        section=section,
        file=io.BytesIO(f"{section}\n招标文件（基准测试）\n".encode()),
        filename="招标文件.txt",
    )
    section.refresh_from_db()
    opening = OpeningKey.objects.get(section=section).recipient
    for first in range(0, bidders, 100):
        with transaction.atomic():
            for user in bidder_users[first : first + 100]:
                clock.set_now(clock.now() + dt.timedelta(seconds=1))
                notice_services.document_obtain(acting_user=user, section=section)
    timings["tender_s"] = time.perf_counter() - mark
    progress(f"setup: tender announced, documents obtained ({timings['tender_s']:.0f} s)")

    # Seal in parallel (crypto only), submit one by one through the services.
    mark = time.perf_counter()
    made_at = (start + dt.timedelta(days=2)).isoformat()
    attachment_bytes = max(bid_kib * KIB - 6 * KIB, 1)  # manifest, signature, certificate, age framing
    tasks = [
        (
            i,
            {
                "key_pem": p["key_pem"],
                "cert_pem": p["cert_pem"],
                "identity": p["identity"],
                "opening": opening,
                "section_id": section.pk,
                "section_code": section.code,
                "attachment_bytes": attachment_bytes,
                "made_at": made_at,
            },
        )
        for i, p in enumerate(people)
    ]
    connections.close_all()  # the pool forks: no connection crosses into the workers
    clock.set_now(start + dt.timedelta(days=3))
    sizes: list[int] = []
    seal_seconds = 0.0
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for index, sealed in pool.imap_unordered(_seal_one, tasks, chunksize=4):
            user = bidder_users[index]
            clock.set_now(clock.now() + dt.timedelta(seconds=1))
            upload = bidding_services.upload_create(acting_user=user, section=section, size=len(sealed))
            bidding_services.upload_append_chunk(
                acting_user=user, upload=upload, offset=0, stream=io.BytesIO(sealed), length=len(sealed)
            )
            bidding_services.bid_finalize(acting_user=user, upload=upload)
            sizes.append(len(sealed))
    seal_seconds = time.perf_counter() - mark
    timings["seal_and_submit_s"] = seal_seconds
    progress(f"setup: bids sealed and submitted ({timings['seal_and_submit_s']:.0f} s)")

    clock.set_now(deadline)
    opening_services.opening_start(section=section)
    clock.set_now(None)

    # The watchers' browser sessions, as the login page makes them.
    mark = time.perf_counter()
    engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
    sessions = []
    for watcher in watcher_users:
        request = HttpRequest()
        request.session = engine.SessionStore()
        login(request, watcher, backend="django.contrib.auth.backends.ModelBackend")
        request.session.save()
        sessions.append(request.session.session_key)
    timings["sessions_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started

    host_keys = data_dir / "demo" / "keys" / "agent"
    world = {
        "section": section.pk,
        "section_code": section.code,
        "bid_deadline": deadline.isoformat(),
        "bidders": people,
        "watchers": sessions,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "host": {
            "username": agent.username,
            "key_pem": (host_keys / "signing.key").read_text(),
            "cert_pem": (host_keys / "signing.pem").read_text(),
        },
        "bid_bytes_mean": sum(sizes) / max(len(sizes), 1),
        "bid_bytes_min": min(sizes, default=0),
        "bid_bytes_max": max(sizes, default=0),
        "setup": timings,
    }
    out.write_text(json.dumps(world), encoding="utf-8")
    return 0


# ---- the client (a subprocess: asyncio, httpx, websockets; no Django) ------------------------------


class Watchers:
    """What the watchers received: per (bid, status) how many watchers got it and when the first
    and the last did; per watcher the seqs in order (gaps, repeats)."""

    def __init__(self, count: int, bidders: int) -> None:
        self.count = count
        self.bidders = bidders
        self.arrivals: dict[tuple[int, str], list[float]] = {}  # [count, first, last]
        self.kinds: dict[
            tuple[str, int], list[float]
        ] = {}  # (kind, n-th of that kind) -> [count, first, last]
        self.last_seq = [0] * count
        self.gaps = [0] * count
        self.repeats = [0] * count
        self.finals = [0] * count
        self.kind_counts: list[dict[str, int]] = [{} for _ in range(count)]
        self.reconnects = 0
        self.frames = 0
        self.connected = 0
        self.done = 0
        self.all_done = asyncio.Event()
        self.closing = False
        self.last_arrival = time.monotonic()

    def seen(self, w: int, raw: str | bytes, at: float) -> None:
        """One frame: a JSON array of events in seq order."""
        self.last_arrival = at
        self.frames += 1
        frame = json.loads(raw)
        for message in frame if isinstance(frame, list) else [frame]:
            self._event(w, message, at)

    def _event(self, w: int, message: dict[str, Any], at: float) -> None:
        seq = int(message["seq"])
        last = self.last_seq[w]
        if seq <= last:
            self.repeats[w] += 1
            return
        if seq != last + 1:
            self.gaps[w] += seq - last - 1
        self.last_seq[w] = seq
        kind = message["kind"]
        counts = self.kind_counts[w]
        nth = counts.get(kind, 0) + 1
        counts[kind] = nth
        slot = self.kinds.get((kind, nth))
        if slot is None:
            self.kinds[(kind, nth)] = [1, at, at]
        else:
            slot[0] += 1
            slot[2] = at
        if kind != "bid_status":
            return
        bid = message["payload"]["bid"]
        key = (int(bid["bid_id"]), str(bid["status"]))
        rec = self.arrivals.get(key)
        if rec is None:
            self.arrivals[key] = [1, at, at]
        else:
            rec[0] += 1
            rec[2] = at
        if key[1] in FINAL:
            self.finals[w] += 1
            if self.finals[w] == self.bidders:
                self.done += 1
                if self.done == self.count:
                    self.all_done.set()

    def kind_everywhere(self, kind: str, nth: int) -> bool:
        slot = self.kinds.get((kind, nth))
        return slot is not None and slot[0] >= self.count

    def behind(self, kind: str, nth: int) -> int:
        """How many watchers have not (yet) got the nth event of this kind."""
        slot = self.kinds.get((kind, nth))
        return self.count - (int(slot[0]) if slot is not None else 0)

    async def settle(self, done: Any, busy: Any, quiet: float, timeout: float) -> float:
        """Wait until ``done()``; or until nothing has arrived for ``quiet`` s while the server is
        idle (a watcher that missed the tail of a burst learns of the gap only from the next
        event: what has not come by then will not come); or ``timeout``."""
        started = time.monotonic()
        while not done():
            now = time.monotonic()
            if now - started > timeout or (now - self.last_arrival > quiet and not busy()):
                break
            await asyncio.sleep(0.05)
        return time.monotonic() - started


async def _watch(
    w: int, url: str, section: int, cookie: str, after: int, state: Watchers, connect_gate: asyncio.Semaphore
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    ws_url = url.replace("http://", "ws://") + f"/ws/hall/{section}/"
    first = True
    state.last_seq[w] = after
    while not state.closing:
        try:
            async with connect_gate:
                ws = await connect(
                    f"{ws_url}?after={state.last_seq[w]}",
                    additional_headers={"Cookie": cookie, "Origin": url},
                    open_timeout=300,
                    ping_interval=None,
                    max_size=None,
                    max_queue=None,
                )
            if first:
                state.connected += 1
                first = False
            async with ws:
                async for raw in ws:
                    state.seen(w, raw, time.monotonic())
                    if state.finals[w] >= state.bidders and state.closing:
                        break
                if state.closing:
                    return
                if ws.close_code == 4403:
                    raise RuntimeError(f"watcher {w} refused by the hall (4403)")
        except (WebSocketException, OSError, TimeoutError) as exc:
            key = f"websocket {type(exc).__name__}"
            ERRORS[key] = ERRORS.get(key, 0) + 1
        if state.closing:
            return
        state.reconnects += 1
        await asyncio.sleep(0.2)


def bidder_address(i: int) -> str:
    """A loopback source address of bidder ``i``'s own (127.0.1.1, 127.0.1.2, …)."""
    return f"127.{i // 62500}.{i // 250 % 250 + 1}.{i % 250 + 1}"


ATTEMPTS = 10
ERRORS: dict[str, int] = {}  # "phase status" -> how many answers were server errors (retried)


class _Retry(Exception):
    pass


def _check(answer: Any, phase: str) -> Any:
    """A server error (5xx, 429) is counted and retried as the user would; others must succeed."""
    if answer.status_code >= 500 or answer.status_code == 429:
        key = f"{phase} {answer.status_code}"
        ERRORS[key] = ERRORS.get(key, 0) + 1
        raise _Retry(key)
    answer.raise_for_status()
    return answer


async def _retrying(phase: str, flow: Any) -> Any:
    import httpx

    for _ in range(ATTEMPTS):
        try:
            return await flow()
        except _Retry:
            pass
        except httpx.TransportError as exc:
            key = f"{phase} {type(exc).__name__}"
            ERRORS[key] = ERRORS.get(key, 0) + 1
        await asyncio.sleep(1.0)
    raise RuntimeError(f"{phase}: still failing after {ATTEMPTS} attempts")


async def _cert_login(http: Any, username: str, key: Any, cert_pem: str) -> str:
    from tenderhall.core.crypto import certs

    async def flow() -> str:
        answer = _check(await http.post("/api/v1/auth/challenge", json={"username": username}), "login")
        nonce = answer.json()["nonce"]
        expected = certs.challenge_text(nonce, username)
        if answer.json()["challenge"] != expected:
            raise RuntimeError("the server's login challenge is not the expected text")
        signature = base64.b64encode(certs.sign_challenge(key, expected)).decode()
        body = {"username": username, "nonce": nonce, "certificate_pem": cert_pem, "signature": signature}
        session = _check(await http.post("/api/v1/auth/certificate", json=body), "login")
        return str(session.json()["token"])

    return str(await _retrying("login", flow))


async def _wait(predicate: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def client_run(url: str, world: dict[str, Any], server_pid: int, timeout: float) -> dict[str, Any]:
    import httpx

    from tenderhall.core.crypto import age, certs

    section = int(world["section"])
    base = f"/api/v1/sections/{section}"
    people = world["bidders"]
    n_bidders, n_watchers = len(people), len(world["watchers"])
    keys = [certs.load_signing_key(p["key_pem"].encode()) for p in people]
    identities = [age.X25519Identity.from_string(p["identity"]) for p in people]
    result: dict[str, Any] = {"bidders": n_bidders, "watchers": n_watchers}

    def server() -> list[int]:
        return process_tree(server_pid)

    sample = [time.monotonic(), cpu_seconds(server()), 1.0]  # when, CPU seconds, cores in use

    def busy() -> bool:
        """The server used more than a tenth of a core over the last two seconds."""
        now = time.monotonic()
        if now - sample[0] >= 2.0:
            cpu = cpu_seconds(server())
            sample[:] = [now, cpu, (cpu - sample[1]) / (now - sample[0])]
        return sample[2] > 0.1

    def office(address: str | None) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=address) if address else None
        return httpx.AsyncClient(
            base_url=url,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "bench-opening/1"},
        )

    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(office(None))  # the host, and reads
        # Each bidder from its own office: its own source address (the platform limits login
        # challenges per address, as it should; 1,000 offices are not one address).
        offices = [await stack.enter_async_context(office(bidder_address(i))) for i in range(n_bidders)]
        # 1. Everyone's tool logs in with its certificate (not measured; a few at a time).
        progress(f"client: {n_bidders} bidders and the host log in with their certificates")
        mark = time.monotonic()
        gate = asyncio.Semaphore(32)

        async def login(i: int) -> str:
            async with gate:
                return await _cert_login(offices[i], people[i]["username"], keys[i], people[i]["cert_pem"])

        tokens = await asyncio.gather(*(login(i) for i in range(n_bidders)))
        host = world["host"]
        host_token = await _cert_login(
            http, host["username"], certs.load_signing_key(host["key_pem"].encode()), host["cert_pem"]
        )
        result["login_s"] = time.monotonic() - mark
        auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
        host_auth = {"Authorization": f"Bearer {host_token}"}
        hall = (await http.get(f"{base}/hall", headers=host_auth)).raise_for_status().json()
        after = int(hall["last_seq"])
        result["seq_before"] = after

        # 2. The watchers open the hall.
        progress(f"client: {n_watchers} watchers connect to the hall (after={after})")
        state = Watchers(n_watchers, n_bidders)
        connect_gate = asyncio.Semaphore(50)
        mark = time.monotonic()
        watchers = [
            asyncio.create_task(
                _watch(
                    w,
                    url,
                    section,
                    f"{world['session_cookie']}={cookie}",
                    after,
                    state,
                    connect_gate,
                )
            )
            for w, cookie in enumerate(world["watchers"])
        ]
        await _wait(lambda: state.connected >= n_watchers, timeout, "the watchers to connect")
        result["watchers_connect_s"] = time.monotonic() - mark
        await asyncio.sleep(1.0)  # let the last handshakes finish their (empty) replay

        # 3. All bidders sign in to the hall at once.
        progress(f"client: {n_bidders} bidders sign in to the hall at once")

        async def sign_in(i: int) -> float | None:
            started = time.monotonic()

            async def flow() -> None:
                office = offices[i]
                answer = _check(
                    await office.post(f"{base}/hall/challenge", headers=auth[i]), "sign-in"
                ).json()
                text = certs.hall_challenge_text(answer["nonce"], section, people[i]["username"])
                if answer["challenge"] != text:
                    raise RuntimeError("the hall challenge is not the expected text")
                signature = base64.b64encode(certs.sign_challenge(keys[i], text)).decode()
                body = {
                    "nonce": answer["nonce"],
                    "signature": signature,
                    "certificate": people[i]["cert_pem"],
                }
                _check(await office.post(f"{base}/hall/sign-in", headers=auth[i], json=body), "sign-in")

            try:
                await _retrying("sign-in", flow)
            except RuntimeError:
                return None  # gave up, as a bidder would after ten server errors
            return time.monotonic() - started

        mark = time.monotonic()
        sign_ins = await asyncio.gather(*(sign_in(i) for i in range(n_bidders)))
        result["sign_in_all_s"] = time.monotonic() - mark
        result["sign_in_s"] = [t for t in sign_ins if t is not None]
        result["sign_in_gave_up"] = sum(1 for t in sign_ins if t is None)
        await state.settle(lambda: state.kind_everywhere("signed_in", n_bidders), busy, QUIET_S, timeout)
        result["sign_in_events_delivered_s"] = (
            state.kinds[("signed_in", n_bidders)][2] - mark
            if state.kind_everywhere("signed_in", n_bidders)
            else None
        )
        result["watchers_missing_sign_in_tail"] = state.behind("signed_in", n_bidders)

        # 4. The host opens the decryption window.
        progress("client: the host opens the decryption window")
        (
            await http.post(
                f"{base}/hall/decryption/open", headers=host_auth, json={"minutes": WINDOW_MINUTES}
            )
        ).raise_for_status()
        await state.settle(lambda: state.kind_everywhere("decryption_opened", 1), busy, QUIET_S, timeout)
        result["watchers_missing_window_event"] = state.behind("decryption_opened", 1)

        # 5. All bidders unlock at once, as `tenderhall-bid unlock` does.
        progress(f"client: {n_bidders} bidders unlock at once")
        posted: dict[int, float] = {}
        answered: dict[int, float] = {}
        codes: dict[int, int] = {}
        gave_up: list[int] = []

        async def unlock(i: int) -> None:
            office = offices[i]
            first_post: list[float] = []

            async def flow() -> int:
                body = _check(await office.get(f"{base}/bid/header", headers=auth[i]), "unlock").json()
                header = age.parse_header(io.BytesIO(base64.b64decode(body["header"], validate=True)))
                file_key = age.unwrap_file_key(header, [identities[i]])
                token = base64.b64encode(file_key).decode()
                first_post.append(time.monotonic())
                answer = await office.post(f"{base}/hall/unlock", headers=auth[i], json={"file_key": token})
                if answer.status_code == 409 and len(first_post) > 1:
                    # A retry after a server error whose attempt had in fact been accepted.
                    if answer.json().get("code") in ("bid_decrypting", "bid_already_decrypted"):
                        mine = _check(await office.get(f"{base}/hall", headers=auth[i]), "unlock").json()
                        codes[i] = answer.status_code
                        return int(mine["me"]["bid"]["bid_id"])
                _check(answer, "unlock")
                codes[i] = answer.status_code
                return int(answer.json()["bid_id"])

            try:
                bid_id = await _retrying("unlock", flow)
            except RuntimeError:
                gave_up.append(i)
                return
            posted[bid_id], answered[bid_id] = first_post[0], time.monotonic()

        cpu_before = cpu_seconds(server())
        rusage_before = resource.getrusage(resource.RUSAGE_SELF)
        wall_start = time.time()
        unlock_start = time.monotonic()
        await asyncio.gather(*(unlock(i) for i in range(n_bidders)))
        result["unlock_posts_s"] = time.monotonic() - unlock_start
        await state.settle(state.all_done.is_set, busy, QUIET_S, timeout)
        result["all_watchers_complete"] = state.all_done.is_set()
        phase_end = time.monotonic()
        result["server_cpu_unlock_phase_s"] = cpu_seconds(server()) - cpu_before
        rusage_after = resource.getrusage(resource.RUSAGE_SELF)
        result["client_cpu_unlock_phase_s"] = (rusage_after.ru_utime - rusage_before.ru_utime) + (
            rusage_after.ru_stime - rusage_before.ru_stime
        )
        result["unlock_phase_wall_s"] = phase_end - unlock_start

        # 6. The hall's own record: its last seq and each bid's status and decryption time.
        await asyncio.sleep(1.0)
        hall = (await http.get(f"{base}/hall", headers=host_auth)).raise_for_status().json()
        state.closing = True
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)

    last_seq = int(hall["last_seq"])
    statuses: dict[str, int] = {}
    server_done: list[float] = []
    for row in hall["bidders"] or []:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        if row.get("decrypted_at"):
            at = dt.datetime.fromisoformat(row["decrypted_at"].replace("Z", "+00:00")).timestamp()
            server_done.append(at - wall_start)
    result["hall_statuses"] = statuses
    result["hall_last_seq"] = last_seq
    result["server_last_decrypted_s"] = max(server_done) if server_done else None
    result["server_median_decrypted_s"] = percentile(server_done, 50) if server_done else None

    queued, decrypted, queued_first, decrypted_first, response = [], [], [], [], []
    missing = 0
    last_decrypted = 0.0
    for bid_id, sent in posted.items():
        response.append(answered[bid_id] - sent)
        q = state.arrivals.get((bid_id, "queued"))
        d = state.arrivals.get((bid_id, "decrypted"))
        if q is not None and q[0] >= n_watchers:
            queued.append(q[2] - sent)
        else:
            missing += 1
        if q is not None:
            queued_first.append(q[1] - sent)
        if d is not None and d[0] >= n_watchers:
            decrypted.append(d[2] - sent)
            last_decrypted = max(last_decrypted, d[2] - unlock_start)
        else:
            missing += 1
        if d is not None:
            decrypted_first.append(d[1] - sent)
    short = sum(max(0, last_seq - s) for s in state.last_seq)
    result.update(
        {
            "unlock_http_codes": sorted(set(codes.values())),
            "server_errors": dict(ERRORS),
            "unlock_gave_up": len(gave_up),
            "unlock_response_s": response,
            "queued_everyone_s": queued,
            "decrypted_everyone_s": decrypted,
            "queued_first_watcher_s": queued_first,
            "decrypted_first_watcher_s": decrypted_first,
            "all_decrypted_at_every_watcher_s": last_decrypted if len(decrypted) == n_bidders else None,
            "events_missing_bid_status": missing,
            "seq_gaps": sum(state.gaps),
            "seq_repeats": sum(state.repeats),
            "seq_short_of_last": short,
            "watchers_complete": sum(1 for s in state.last_seq if s == last_seq),
            "reconnects": state.reconnects,
            "frames": state.frames,
            "client_peak_rss_mib": vm_hwm_mib(),
        }
    )
    return result


def client_main(url: str, world_path: Path, server_pid: int, timeout: float, out: Path) -> int:
    world = json.loads(world_path.read_text(encoding="utf-8"))
    result = asyncio.run(client_run(url, world, server_pid, timeout))
    out.write_text(json.dumps(result), encoding="utf-8")
    return 0


# ---- the benchmark ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--bidders", type=int, default=1000, help="bidders who unlock (default 1000)")
    parser.add_argument("--watchers", type=int, default=1000, help="people watching the hall (default 1000)")
    parser.add_argument("--bid-kib", type=int, default=1024, help="size of each sealed bid (default 1024)")
    parser.add_argument(
        "--profile", choices=("embedded", "cluster", "all"), default="all", help="default: all that answer"
    )
    parser.add_argument("--timeout", type=float, default=600, help="give up waiting after this (s)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="sealing processes in setup")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dirs (and database)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--setup", nargs=1, metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=4, metavar=("URL", "WORLD", "PID", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bidders < 3 or args.watchers < 1:
        parser.error("at least 3 bidders (法 Art 28) and 1 watcher")
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def redis_answers() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def base_env(data_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "TENDERHALL_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "tenderhall.settings",
    }
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "TENDERHALL_TESTING",
        "TENDERHALL_TEST_DATABASE_URL",
        "TENDERHALL_S3_BUCKET",
        "TENDERHALL_TASKS_IMMEDIATE",
    ):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    return env


def start_server(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    import httpx

    command = [str(Path(sys.executable).with_name("tenderhall")), "serve", "--no-worker"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as err:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/log/key", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not answer within 120 s")


def run_profile(args: argparse.Namespace, profile: str, data_dir: Path) -> tuple[list[Row], dict[str, Any]]:
    env = base_env(data_dir)
    workers = 1
    database = ""
    if profile == "cluster":
        import psycopg

        database = f"bench_opening_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{database}"
        env["REDIS_URL"] = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
        workers = 2
    info: dict[str, Any] = {"profile": profile, "asgi_workers": workers, "database": database or "sqlite"}
    try:
        progress(
            f"[{profile}] setup: {args.bidders} bidders with {args.bid_kib} KiB bids, {args.watchers} watchers"
        )
        world_path = data_dir / "bench-world.json"
        setup = subprocess.run(
            [
                *(sys.executable, __file__, "--setup", str(world_path), "--bidders", str(args.bidders)),
                *("--watchers", str(args.watchers), "--bid-kib", str(args.bid_kib), "--jobs", str(args.jobs)),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if setup.returncode != 0:
            raise SystemExit(f"the setup failed (exit {setup.returncode})")
        world = json.loads(world_path.read_text(encoding="utf-8"))
        info["setup"] = world["setup"]
        info["bid_bytes_mean"] = world["bid_bytes_mean"]
        progress(f"[{profile}] setup done in {world['setup']['total_s']:.0f} s")
        port = free_port()
        progress(
            f"[{profile}] starting `tenderhall serve --no-worker --workers {workers}` on 127.0.0.1:{port}"
        )
        server = start_server(env, port, workers, data_dir / "server.log")
        try:
            info["server_rss_idle_mib"] = sum(vm_hwm_mib(p) for p in process_tree(server.pid))
            out = data_dir / "bench-client.json"
            client_env = {**env}
            client_env.pop("DJANGO_SETTINGS_MODULE", None)
            client = subprocess.run(
                [
                    *(sys.executable, __file__, "--client", f"http://127.0.0.1:{port}", str(world_path)),
                    *(str(server.pid), str(out), "--timeout", str(args.timeout)),
                ],
                env=client_env,
                stdout=subprocess.DEVNULL,
                stderr=None,
                check=False,
            )
            tree = process_tree(server.pid)
            peak = {p: vm_hwm_mib(p) for p in tree}
            if client.returncode != 0:
                log = (data_dir / "server.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"the client failed (exit {client.returncode}); server log:\n{log}")
            result = json.loads(out.read_text(encoding="utf-8"))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        errors = [
            line
            for line in (data_dir / "server.log").read_text(errors="replace").splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        info["server_log_errors"] = len(errors)
    finally:
        if database and not args.keep:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return rows_for(profile, result, sum(peak.values()), len(peak), info), info | {"client": summary(result)}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The client's figures without the long per-bid lists (their percentiles are in the rows)."""
    return {k: v for k, v in result.items() if not isinstance(v, list)}


def rows_for(
    profile: str, r: dict[str, Any], peak_rss: float, processes: int, info: dict[str, Any]
) -> list[Row]:
    n = r["bidders"]
    p = f"[{profile}] "
    lost = r["seq_gaps"] + r["seq_short_of_last"]  # (watcher, seq) pairs never received
    all_dec = r["all_decrypted_at_every_watcher_s"]
    q99, d99 = percentile(r["queued_everyone_s"], 99), percentile(r["decrypted_everyone_s"], 99)
    complete_q = len(r["queued_everyone_s"]) == n
    complete_d = len(r["decrypted_everyone_s"]) == n
    decrypted = r["hall_statuses"].get("decrypted", 0)
    rows = [
        Row(p + "bidders / watchers", n, f"/ {r['watchers']}"),
        Row(p + "mean sealed bid size", info["bid_bytes_mean"] / MIB, "MiB"),
        Row(p + "bids decrypted (hall's record)", decrypted, f"of {n}"),
        Row(
            p + "all decrypted, at every watcher",
            all_dec if all_dec is not None else float("nan"),
            "s",
            f"<= {TARGET_ALL_DECRYPTED_S:g} s",
            all_dec is not None and all_dec <= TARGET_ALL_DECRYPTED_S and decrypted == n,
        ),
        Row(
            p + "all decrypted, server's decrypted_at",
            r["server_last_decrypted_s"] if r["server_last_decrypted_s"] is not None else float("nan"),
            "s",
        ),
        Row(
            p + "unlock → 'queued' at every watcher p50",
            percentile(r["queued_everyone_s"], 50),
            "s",
        ),
        Row(
            p + "unlock → 'queued' at every watcher p99",
            q99,
            "s",
            f"<= {TARGET_P99_S:g} s",
            complete_q and q99 <= TARGET_P99_S,
        ),
        Row(p + "unlock → 'decrypted' at every watcher p50", percentile(r["decrypted_everyone_s"], 50), "s"),
        Row(
            p + "unlock → 'decrypted' at every watcher p99",
            d99,
            "s",
            f"<= {TARGET_P99_S:g} s",
            complete_d and d99 <= TARGET_P99_S,
        ),
        Row(
            p + "unlock → 'queued' at the first watcher p50", percentile(r["queued_first_watcher_s"], 50), "s"
        ),
        Row(p + "unlock POST response p50", percentile(r["unlock_response_s"], 50), "s"),
        Row(p + "unlock POST response p99", percentile(r["unlock_response_s"], 99), "s"),
        Row(p + "events lost (watcher × seq never received)", lost, "", "0", lost == 0),
        Row(p + "bid statuses not at every watcher", r["events_missing_bid_status"], ""),
        Row(p + "watcher reconnects", r["reconnects"], ""),
        Row(p + "frames received (all watchers; a frame is a batch of events)", r.get("frames", 0), ""),
        Row(p + "bidders who gave up (10 server errors): sign-in", r["sign_in_gave_up"], ""),
        Row(p + "bidders who gave up (10 server errors): unlock", r["unlock_gave_up"], ""),
        Row(
            p + "server errors (5xx, 429, broken connections; retried)",
            sum(r["server_errors"].values()),
            "",
            "0",
            not r["server_errors"],
        ),
        Row(p + "sign-in p50", percentile(r["sign_in_s"], 50), "s"),
        Row(p + "sign-in p99", percentile(r["sign_in_s"], 99), "s"),
        Row(
            p + "all sign-ins at every watcher",
            r["sign_in_events_delivered_s"] if r["sign_in_events_delivered_s"] is not None else float("nan"),
            "s",
        ),
        Row(p + "watchers missing the last sign-in (then)", r["watchers_missing_sign_in_tail"], ""),
        Row(
            p + f"server peak RSS ({processes} process{'es' if processes > 1 else ''})",
            peak_rss,
            "MiB",
        ),
        Row(p + "server CPU in the unlock phase", r["server_cpu_unlock_phase_s"], "s"),
        Row(p + "client CPU in the unlock phase", r["client_cpu_unlock_phase_s"], "s"),
        Row(p + "unlock phase wall time", r["unlock_phase_wall_s"], "s"),
        Row(p + "cores on this machine", float(os.cpu_count() or 0), "", "2", (os.cpu_count() or 0) <= 2),
    ]
    return rows


def fmt(value: float) -> str:
    if value != value:  # NaN
        return "—"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"


def print_table(rows: list[Row]) -> None:
    header = ("metric", "value", "target", "pass/miss")
    cells = [(r.metric, f"{fmt(r.value)} {r.unit}".strip(), r.target, r.verdict) for r in rows]
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
    if args.setup:
        return setup_main(Path(args.setup[0]), args.bidders, args.watchers, args.bid_kib, args.jobs)
    if args.client:
        url, world, pid, out = args.client
        return client_main(url, Path(world), int(pid), args.timeout, Path(out))
    profiles = ["embedded", "cluster"] if args.profile == "all" else [args.profile]
    cluster_up = answers("127.0.0.1", 5432) and redis_answers()
    skipped = []
    if "cluster" in profiles and not cluster_up:
        if args.profile == "cluster":
            raise SystemExit("the cluster profile needs PostgreSQL on 127.0.0.1:5432 and Redis on 6379")
        profiles.remove("cluster")
        skipped.append("cluster (PostgreSQL or Redis does not answer)")
    started = time.time()
    rows: list[Row] = []
    infos: list[dict[str, Any]] = []

    def report() -> bool:
        """Written after each profile, so a later failure keeps what was measured."""
        ok = bool(rows) and all(r.passed is not False for r in rows)
        document = {
            "benchmark": "bench_opening",
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "duration_s": round(time.time() - started, 1),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "args": {
                "bidders": args.bidders,
                "watchers": args.watchers,
                "bid_kib": args.bid_kib,
                "profiles": profiles,
                "skipped": skipped,
            },
            "rows": [asdict(r) | {"verdict": r.verdict} for r in rows],
            "profiles": infos,
            "all_targets_met": ok,
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return ok

    for profile in profiles:
        data_dir = Path(tempfile.mkdtemp(prefix=f"tenderhall-bench-opening-{profile}-"))
        try:
            profile_rows, info = run_profile(args, profile, data_dir)
        finally:
            if args.keep:
                progress(f"kept {data_dir}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)
        rows += profile_rows
        infos.append(info)
        print_table(profile_rows)
        if info["client"]["server_errors"]:
            print(f"[{profile}] server errors by phase: {json.dumps(info['client']['server_errors'])}")
        report()
    for name in skipped:
        print(f"skipped: {name}")
    ok = report()
    print(f"{'all targets met' if ok else 'TARGETS MISSED'}; wrote {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
