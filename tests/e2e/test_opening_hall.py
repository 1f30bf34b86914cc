"""The remote opening hall in three real browsers (host and two bidders; the third bidder unlocks
from its own tool through the API), live over the WebSocket, no reloads of the watching pages.

The live server must speak WebSocket, which pytest-django's live_server (WSGI) cannot; so the test
runs the real ASGI application (``tenderhall.asgi.application``) with uvicorn in a thread of this
process on a free port. Being in-process it shares the test database (transactional: committed
data, visible to every thread; on SQLite the in-memory test database is shared-cache), the settings
overrides, the in-memory channel layer and ``core.clock``. The bids are real: built, sealed and
submitted through the services by the opening tests' helpers."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tenderhall.client.cli import main as cli_main
from tenderhall.core import clock
from tenderhall.disputes.models import Objection
from tenderhall.opening import services
from tenderhall.opening.models import OpeningStatus
from tests.bidding.conftest import bid_dirs  # noqa: F401 - autouse fixture
from tests.client.test_unlock import identity_file, key_file, profile_for
from tests.factories import PASSWORD
from tests.notices.conftest import DEADLINE, announced, t0, world  # noqa: F401 - fixtures
from tests.opening.conftest import (  # noqa: F401 - fixtures
    Hall,
    _fresh_share_pool,
    file_key_of,
    make_hall,
)

pytestmark = pytest.mark.django_db(transaction=True)


class AsgiServer:
    """uvicorn serving tenderhall.asgi.application in a thread; ``stop``/``start`` on the same port
    drop every WebSocket as a restart would."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Any = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        import uvicorn

        from tenderhall.asgi import application

        config = uvicorn.Config(
            application,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws="websockets-sansio",
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        assert self.thread is not None
        self.thread.join(10)


@pytest.fixture
def asgi() -> Iterator[AsgiServer]:
    # WhiteNoise serves static files with a synchronous iterator, which Django's ASGI handler
    # consumes with a warning (tests turn warnings into errors).
    warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
    server = AsgiServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def asgi_server(asgi: AsgiServer) -> str:
    return asgi.url


def open_page(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=password-login] button[type=submit]")
    page.wait_for_selector("[data-testid=who]")
    return page


def live(page: Any) -> None:
    page.wait_for_selector("[data-testid=hall-connection][data-state=open]")


def in_thread(fn: Callable[[], object]) -> None:
    """A service call as the worker makes it, off the main thread (where Playwright keeps an event
    loop, so the live push's async_to_sync may not run there)."""
    from django.db import connection

    def run() -> None:
        try:
            fn()
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)


def run_cli(*args: str) -> tuple[int, str]:
    """The bidder tool (tenderhall-bid) against the live server, as a bidder runs it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(list(args))
    return code, out.getvalue() + err.getvalue()


def test_three_browsers_watch_the_opening_live(
    make_hall: Callable[..., Hall],  # noqa: F811
    asgi_server: str,
    browser: Any,
    tmp_path: Path,
) -> None:
    hall = make_hall(3, start=False)  # 3 sealed bids; the deadline is still ahead
    assert clock.now() < DEADLINE
    url = f"{asgi_server}/opening/sections/{hall.section.pk}/"
    host = open_page(browser, asgi_server, hall.host.username)
    bidders = [open_page(browser, asgi_server, b.user.username) for b in hall.bidders[:2]]
    pages = [host, *bidders]
    for page in pages:
        page.goto(url)
        live(page)
    keys = [key_file(b.signer.key, tmp_path / f"b{i}.key") for i, b in enumerate(hall.bidders)]
    profiles = [
        profile_for(b.user, asgi_server, tmp_path, signing_key=k)
        for b, k in zip(hall.bidders, keys, strict=True)
    ]
    # Before the deadline each bidder signs in with its signing certificate: in the page (a
    # challenge signed by `tenderhall-bid sign-challenge`), or wholly with the tool.
    for key, page in zip(keys[:2], bidders, strict=True):
        page.click("[data-testid=get-challenge]")
        text = page.locator("[data-testid=challenge-text]").inner_text()
        code, signature = run_cli("sign-challenge", "--key", str(key), text)
        assert code == 0
        page.fill("[data-testid=sign-in-form] textarea[name=signature]", signature.strip())
        page.click("[data-testid=sign-in]")
        page.wait_for_selector("[data-testid=signed-in]")
        live(page)
    code, out = run_cli("--profile", str(profiles[2]), "sign-in", "--section", str(hall.section.pk))
    assert code == 0, out
    assert host.locator("[data-testid=bidder-row]").count() == 0  # nobody is named before the deadline

    # The deadline passes; the worker's tick starts the opening and the bidder list appears live.
    clock.set_now(DEADLINE)
    in_thread(services.opening_tick)
    # days later: the tool logs in again (its API token of sign-in day has expired)
    profiles = [
        profile_for(b.user, asgi_server, tmp_path, signing_key=k)
        for b, k in zip(hall.bidders, keys, strict=True)
    ]
    for page in pages:
        page.wait_for_selector("[data-testid=hall-status][data-status=waiting]")
    host.wait_for_function("document.querySelectorAll('[data-testid=bidder-row]').length === 3")

    host.click("[data-testid=open-window]")
    live(host)
    for page in bidders:  # no reload: the event moved the status
        page.wait_for_selector("[data-testid=hall-status][data-status=decrypting]")

    # Two bidders paste the token `tenderhall-bid unlock --print-token` prints (the base64 file key
    # unwrapped locally from their bid's header); the third runs `tenderhall-bid unlock`.
    for i, page in enumerate(bidders):
        ident = identity_file(hall.bidders[i].identity, tmp_path / f"id{i}.txt")
        code, token = run_cli(
            "--profile", str(profiles[i]), "unlock", "--section", str(hall.section.pk), "-i", str(ident),
            "--print-token",
        )  # fmt: skip
        assert code == 0, token
        page.fill("[data-testid=unlock-form] input[name=token]", token.strip())
        page.click("[data-testid=unlock-form] button[type=submit]")
        live(page)
    third = hall.bidders[2]
    ident = identity_file(third.identity, tmp_path / "id2.txt")
    code, out = run_cli(
        "--profile", str(profiles[2]), "unlock", "--section", str(hall.section.pk), "-i", str(ident)
    )
    assert code == 0 and "decrypted" in out, out
    uscc = third.user.organization.uscc
    for page in pages:
        page.wait_for_selector(f"[data-testid=bidder-row][data-bidder='{uscc}'][data-status=decrypted]")
        page.wait_for_function(
            "document.querySelectorAll('[data-testid=bidder-row][data-status=decrypted]').length === 3"
        )

    host.click("[data-testid=close-window]")
    live(host)
    host.click("[data-testid=read-out]")
    live(host)
    for page in pages:
        table = page.locator("[data-testid=opening-table]")
        table.wait_for(state="visible")
        assert "11800000.00" in table.inner_text() and "11802000.00" in table.inner_text()
    assert hall.section.opening.__class__.objects.get(section=hall.section).status == OpeningStatus.READ_OUT

    # An objection on the spot, answered on the spot, seen by everyone.
    host.fill(
        "#objections ~ * input[name=minutes], form[action$='objections-open/'] input[name=minutes]", "10"
    )
    host.click("[data-testid=open-objections]")
    live(host)
    bidders[1].wait_for_selector("[data-testid=raise-objection]", state="visible")
    bidders[1].fill("#raise-objection-form textarea[name=text]", "第一名报价大写与小写不一致")
    bidders[1].click("[data-testid=raise-objection]")
    live(bidders[1])
    host.wait_for_selector("[data-testid=objection-list] li:has-text('第一名报价大写与小写不一致')")
    host.fill("[data-testid=objection-list] textarea[name=answer]", "已核对投标文件，以大写为准")
    host.click("[data-testid=answer-objection]")
    live(host)
    for page in pages:
        page.wait_for_selector("[data-testid=objection-list] li:has-text('已核对投标文件，以大写为准')")
    objection = Objection.objects.get(section=hall.section)
    assert objection.answer == "已核对投标文件，以大写为准" and objection.stage == "opening"

    # The opening record: the host generates it, the bidders confirm it with their signing keys.
    host.click("[data-testid=record-generate]")
    host.wait_for_selector("[data-testid=record-sha256]")
    for i in range(2):
        code, out = run_cli(
            "--profile", str(profiles[i]), "record", "sign", "--section", str(hall.section.pk), "--key", str(keys[i])
        )  # fmt: skip
        assert code == 0 and "confirmed: signed" in out, out
    for page in pages:
        page.reload()
        assert page.locator("[data-testid=record-confirmation][data-kind=signed]").count() == 2
    for page in pages:
        page.context.close()


def test_dropped_pages_reconnect_and_catch_up(
    make_hall: Callable[..., Hall],  # noqa: F811
    asgi: AsgiServer,
    browser: Any,
) -> None:
    hall = make_hall(3)
    url = f"{asgi.url}/opening/sections/{hall.section.pk}/"
    host = open_page(browser, asgi.url, hall.host.username)
    bidder = open_page(browser, asgi.url, hall.bidders[0].user.username)
    for page in (host, bidder):
        page.goto(url)
        live(page)
    asgi.stop()  # every WebSocket drops
    for page in (host, bidder):
        page.wait_for_selector("[data-testid=hall-connection][data-state=reconnecting]")
    # meanwhile the host opens the window with its tool (the API, in-process here)
    services.decryption_window_open(acting_user=hall.host, section=hall.section, minutes=30)
    assert bidder.locator("[data-testid=hall-status]").get_attribute("data-status") == "waiting"
    asgi.start()
    for page in (host, bidder):
        live(page)  # reconnected with ?after=<last seq> and got the missed event, no reload
        page.wait_for_selector("[data-testid=hall-status][data-status=decrypting]")
    for page in (host, bidder):
        page.context.close()
