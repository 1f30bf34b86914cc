from __future__ import annotations

import base64
import io
import json
from typing import Any

from tenderhall.core.crypto import age, certs
from tenderhall.opening import services
from tenderhall.opening.models import OpeningSession
from tests.opening.conftest import API, Hall, api_client, later, sign_in_body


def post(client: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_a_whole_opening_through_the_api(hall: Hall):
    sid = hall.section.pk
    host = api_client(hall.host)
    bidders = [api_client(b.user) for b in hall.bidders]
    watcher = api_client(hall.world.supervisor)

    for b, client in zip(hall.bidders, bidders, strict=True):
        challenge = post(client, f"{API}/sections/{sid}/hall/challenge")
        assert challenge.status_code == 201
        text = challenge.json()["challenge"]
        assert text == f"tenderhall-hall:v1:{challenge.json()['nonce']}:{sid}:{b.user.username}"
        signature = base64.b64encode(certs.sign_challenge(b.signer.key, text)).decode()
        body = {"nonce": challenge.json()["nonce"], "signature": signature}
        signed = post(client, f"{API}/sections/{sid}/hall/sign-in", body)
        assert signed.status_code == 201, signed.json()
        assert signed.json()["certificate_sha256"] == certs.fingerprint_sha256(b.signer.certificate)
        replayed = post(client, f"{API}/sections/{sid}/hall/sign-in", body)
        assert replayed.status_code == 201  # already signed in: idempotent
    state = bidders[0].get(f"{API}/sections/{sid}/hall").json()
    assert state["session"]["status"] == "waiting" and state["me"]["signed_in"] is True
    assert len(state["bidders"]) == 3 and state["me"]["bid"]["status"] == "pending"

    opened = post(host, f"{API}/sections/{sid}/hall/decryption/open", {"minutes": 20})
    assert opened.status_code == 200 and opened.json()["status"] == "decrypting"

    for b, client in zip(hall.bidders, bidders, strict=True):
        # the tool: fetch the header only, unwrap the file key locally, send only the key
        header = client.get(f"{API}/sections/{sid}/bid/header").json()
        raw = base64.b64decode(header["header"])
        assert b.ciphertext.startswith(raw)
        key = age.unwrap_file_key(age.parse_header(io.BytesIO(raw)), [b.identity])
        answer = post(
            client, f"{API}/sections/{sid}/hall/unlock", {"file_key": base64.b64encode(key).decode()}
        )
        assert answer.status_code == 200, answer.content
        assert answer.json()["status"] == "decrypted"

    replay = post(
        bidders[0],
        f"{API}/sections/{sid}/hall/unlock",
        {"file_key": base64.b64encode(hall.bidders[0].file_key).decode()},
    )
    assert replay.status_code == 409 and replay.json()["code"] == "bid_already_decrypted"

    assert watcher.get(f"{API}/sections/{sid}/hall/table").status_code == 409
    assert post(host, f"{API}/sections/{sid}/hall/decryption/close").status_code == 200
    read = post(host, f"{API}/sections/{sid}/hall/read-out")
    assert read.status_code == 200 and len(read.json()["table"]) == 3
    table = watcher.get(f"{API}/sections/{sid}/hall/table").json()
    assert [r["price"] for r in table["table"]] == ["11800000.00", "11801000.00", "11802000.00"]

    events = watcher.get(f"{API}/sections/{sid}/hall/events?after=0").json()["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["kind"] == "read_out"
    missed = watcher.get(f"{API}/sections/{sid}/hall/events?after={events[-3]['seq']}").json()["events"]
    assert [e["seq"] for e in missed] == [e["seq"] for e in events[-2:]]


def test_bad_input_is_a_problem_not_a_crash(decrypting: Hall):
    sid = decrypting.section.pk
    client = api_client(decrypting.bidders[0].user)
    bad = post(client, f"{API}/sections/{sid}/hall/unlock", {"file_key": "not base64!"})
    assert bad.status_code == 422 and bad.json()["code"] == "file_key_invalid"
    short = post(
        client, f"{API}/sections/{sid}/hall/unlock", {"file_key": base64.b64encode(b"x" * 15).decode()}
    )
    assert short.status_code == 422
    custodian = api_client(decrypting.world.staff)
    share = post(custodian, f"{API}/sections/{sid}/hall/shares", {"share_index": 1, "share": "AAAA"})
    assert share.status_code == 422 and share.json()["code"] == "share_invalid"
    minutes = post(api_client(decrypting.host), f"{API}/sections/{sid}/hall/suspend", {"reason": ""})
    assert minutes.status_code == 422


def test_backup_and_shares_through_the_api(decrypting: Hall):
    hall = decrypting
    sid = hall.section.pk
    bid = hall.bidders[1].bid
    assert bid is not None
    assert post(api_client(hall.host), f"{API}/sections/{sid}/hall/backup/{bid.pk}").json()[
        "backup_requested"
    ]
    answers = []
    for user, index, share in hall.shares()[:2]:
        answers.append(
            post(
                api_client(user),
                f"{API}/sections/{sid}/hall/shares",
                {"share_index": index, "share": base64.b64encode(share).decode()},
            )
        )
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json()["opened"] == [] and answers[0].json()["shares_held"] == 1
    assert answers[1].json()["opened"][0]["status"] == "backup_decrypted"


def test_fail_postpone_resume_through_the_api(make_hall: Any):
    hall = make_hall(2)
    sid = hall.section.pk
    host = api_client(hall.host)
    assert post(host, f"{API}/sections/{sid}/hall/decryption/open").json()["code"] == "opening_too_few_bids"
    failed = post(host, f"{API}/sections/{sid}/hall/fail", {"reason": "不足三家"})
    assert failed.status_code == 200 and failed.json()["status"] == "failed" and failed.json()["notice"]
    assert OpeningSession.objects.get().status == "failed"


def test_window_end_is_enforced_through_the_api(decrypting: Hall):
    later(31)
    client = api_client(decrypting.bidders[0].user)
    key = base64.b64encode(decrypting.bidders[0].file_key).decode()
    late = post(client, f"{API}/sections/{decrypting.section.pk}/hall/unlock", {"file_key": key})
    assert late.status_code == 409 and late.json()["code"] == "decryption_window_closed"
    assert services.DEFAULT_WINDOW_MINUTES == 30


def test_the_bidder_list_stays_secret_before_the_deadline(make_hall: Any):
    hall = make_hall(start=False)
    client = api_client(hall.bidders[0].user)
    sid = hall.section.pk
    signed = post(client, f"{API}/sections/{sid}/hall/sign-in", sign_in_body(hall.bidders[0], hall.section))
    assert signed.status_code == 201
    state = api_client(hall.host).get(f"{API}/sections/{sid}/hall").json()
    assert state["bidders"] is None and state["session"] is None
    assert api_client(hall.host).get(f"{API}/sections/{sid}/hall/events").json()["events"] == []
