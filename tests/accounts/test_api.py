"""The accounts API over HTTP (django.test.Client): sign-in flows and problem+json refusals."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyotp
import pytest
from django.test import Client

from tenderhall.accounts import services
from tenderhall.accounts.models import ApiToken, Certificate, LoginAttempt, Organization, Role
from tenderhall.core import clock, ids
from tenderhall.core.crypto import certs
from tenderhall.core.errors import PROBLEM_CONTENT_TYPE
from tenderhall.core.models import LogEvent
from tests.accounts.conftest import Issued, Pki
from tests.factories import PASSWORD

NEW_USCC = ids.make_uscc("91440300MA000001")


@pytest.fixture(autouse=True)
def _fixed_clock(t0: dt.datetime) -> None:
    """Every test here runs at T0: expiry times in answers are exact."""


def post(client: Client, path: str, body: Any, **headers: str):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def close_to(iso: str, moment: dt.datetime) -> bool:
    """JSON carries milliseconds; the clock has microseconds."""
    return abs(dt.datetime.fromisoformat(iso) - moment) < dt.timedelta(milliseconds=1)


def problem(response, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 answer with our stable fields; return its body."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["message_zh"] and body["message_en"]
    assert body["type"].endswith("/" + code)
    assert body["title"] == body["message_en"]
    assert body["message_zh"] in body["detail"] and body["message_en"] in body["detail"]
    assert body["instance"] == response.wsgi_request.path
    assert "token" not in body
    return body


def get_challenge(client: Client, username: str) -> tuple[str, str]:
    response = post(client, "/api/v1/auth/challenge", {"username": username})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["challenge"] == certs.challenge_text(body["nonce"], username)
    assert close_to(body["expires_at"], clock.now() + dt.timedelta(seconds=services.CHALLENGE_SECONDS))
    return body["nonce"], body["challenge"]


def certificate_login(client: Client, username: str, issued: Issued, *, pem: str | None = None, text=None):
    nonce, challenge = get_challenge(client, username)
    return post(
        client,
        "/api/v1/auth/certificate",
        {
            "username": username,
            "nonce": nonce,
            "certificate_pem": issued.pem if pem is None else pem,
            "signature": issued.sign(text or challenge),
        },
    )


# ---- sign-in ------------------------------------------------------------------------------------


def test_certificate_login_gives_a_bearer_token(api, bidder, bidder_cert):
    response = certificate_login(api, bidder.username, bidder_cert)
    assert response.status_code == 200, response.content
    body = response.json()
    org = bidder.organization
    assert body["user"] == {
        "username": bidder.username,
        "organization": org.name,
        "organization_uscc": org.uscc,
        "role": "bidder",
    }
    assert close_to(body["expires_at"], clock.now() + dt.timedelta(hours=services.API_TOKEN_HOURS))
    assert ApiToken.objects.get(user=bidder).token_sha256 != body["token"]

    me = Client().get("/api/v1/auth/me", **bearer(body["token"]))  # a fresh client: no session
    assert me.status_code == 200
    assert me.json() == body["user"]


def test_password_login_gives_a_bearer_token(api, bidder):
    response = post(api, "/api/v1/auth/password", {"username": bidder.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    assert Client().get("/api/v1/auth/me", **bearer(token)).json()["username"] == bidder.username
    assert "sessionid" not in response.cookies  # the API answers tokens, it opens no session


def test_password_login_with_totp(api, bidder, t0):
    secret = services.totp_new_secret()
    services.user_enroll_totp(acting_user=bidder, secret=secret, code=pyotp.TOTP(secret).at(clock.now()))
    problem(
        post(api, "/api/v1/auth/password", {"username": bidder.username, "password": PASSWORD}),
        401,
        "totp_required",
    )
    clock.advance(dt.timedelta(seconds=30))
    code = pyotp.TOTP(secret).at(clock.now())
    body = {"username": bidder.username, "password": PASSWORD, "totp_code": code}
    assert post(api, "/api/v1/auth/password", body).status_code == 200
    problem(post(api, "/api/v1/auth/password", body), 401, "totp_invalid")


def test_session_authenticates_the_api_too(api, bidder):
    api.force_login(bidder)
    assert api.get("/api/v1/auth/me").json()["username"] == bidder.username


# ---- refusals -----------------------------------------------------------------------------------


def test_wrong_password_is_a_problem_and_recorded_with_the_address(api, bidder):
    body = problem(
        post(api, "/api/v1/auth/password", {"username": bidder.username, "password": "Wrong-password-1"}),
        401,
        "login_bad_credentials",
    )
    assert body["message_zh"] == "用户名或密码错误"
    attempt = LoginAttempt.objects.get(username=bidder.username)
    assert (attempt.succeeded, attempt.source_ip) == (False, "127.0.0.1")
    event = json.loads(LogEvent.objects.get(action="accounts.login.refused").payload)
    assert event["source_ip"] == "127.0.0.1" and event["data"]["reason"] == "login_bad_credentials"


def test_proxy_address_is_recorded_only_from_a_trusted_proxy(api, bidder, settings):
    def fail_from_behind(header: str) -> str:
        post(
            api,
            "/api/v1/auth/password",
            {"username": bidder.username, "password": "Wrong-password-1"},
            HTTP_X_REAL_IP=header,
        )
        return LoginAttempt.objects.filter(username=bidder.username).latest("pk").source_ip

    # a caller that is not our proxy cannot choose its address (it would dodge the limits)
    assert fail_from_behind("203.0.113.5") == "127.0.0.1"
    settings.TENDERHALL_TRUSTED_PROXIES = ("127.0.0.1",)
    assert fail_from_behind("203.0.113.6") == "203.0.113.6"


def test_throttled_is_429(api, bidder, settings):
    settings.TENDERHALL_LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        post(api, "/api/v1/auth/password", {"username": bidder.username, "password": "Wrong-password-1"})
    problem(
        post(api, "/api/v1/auth/password", {"username": bidder.username, "password": PASSWORD}),
        429,
        "login_throttled",
    )
    nonce, _challenge = get_challenge(api, bidder.username)
    problem(
        post(
            api,
            "/api/v1/auth/certificate",
            {"username": bidder.username, "nonce": nonce, "certificate_pem": "", "signature": ""},
        ),
        429,
        "login_throttled",
    )


def test_certificate_login_refusals(api, pki: Pki, staff, bidder, other_bidder, bidder_cert, settings):
    settings.TENDERHALL_LOGIN_MAX_FAILURES = 50  # six refusals in a row, none of them throttled
    # a signature over another text
    other_text = certs.challenge_text("C" * 32, bidder.username)
    problem(certificate_login(api, bidder.username, bidder_cert, text=other_text), 401, "signature_invalid")

    # another organization's certificate
    theirs = pki.issue_for(other_bidder)
    pki.register(other_bidder, theirs)
    problem(certificate_login(api, bidder.username, theirs), 401, "certificate_not_registered")

    # a certificate that is not one
    problem(certificate_login(api, bidder.username, bidder_cert, pem="garbage"), 401, "cert_malformed")

    # a replayed nonce
    nonce, challenge = get_challenge(api, bidder.username)
    body = {
        "username": bidder.username,
        "nonce": nonce,
        "certificate_pem": bidder_cert.pem,
        "signature": bidder_cert.sign(challenge),
    }
    assert post(api, "/api/v1/auth/certificate", body).status_code == 200
    problem(post(api, "/api/v1/auth/certificate", body), 401, "challenge_invalid")

    # an expired challenge
    nonce, challenge = get_challenge(api, bidder.username)
    clock.advance(dt.timedelta(seconds=services.CHALLENGE_SECONDS + 1))
    body = {**body, "nonce": nonce, "signature": bidder_cert.sign(challenge)}
    problem(post(api, "/api/v1/auth/certificate", body), 401, "challenge_invalid")

    # a revoked certificate
    pki.revoke(bidder_cert, acting_user=staff)
    refused = problem(certificate_login(api, bidder.username, bidder_cert), 401, "cert_revoked")
    assert certs.serial_hex(bidder_cert.certificate) in refused["message_en"]

    reasons = [
        json.loads(p)["data"]["reason"]
        for p in LogEvent.objects.filter(action="accounts.login.refused").values_list("payload", flat=True)
    ]
    assert reasons == [
        "signature_invalid",
        "certificate_not_registered",
        "cert_malformed",
        "challenge_invalid",
        "challenge_invalid",
        "cert_revoked",
    ]


def test_a_malformed_username_gets_a_problem_not_a_challenge(api):
    problem(post(api, "/api/v1/auth/challenge", {"username": "two words"}), 400, "challenge_invalid")
    problem(post(api, "/api/v1/auth/challenge", {"username": ""}), 400, "challenge_invalid")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Bearer ", "Basic Zm9vOmJhcg==", "bearer"],
)
def test_me_needs_a_valid_token(api, bidder, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    problem(api.get("/api/v1/auth/me", **headers), 401, "not_authenticated")


def test_expired_and_revoked_tokens_are_refused(api, bidder, t0):
    raw, token = services.api_token_issue(user=bidder)
    assert api.get("/api/v1/auth/me", **bearer(raw)).status_code == 200
    clock.set_now(token.expires_at + dt.timedelta(seconds=1))
    problem(api.get("/api/v1/auth/me", **bearer(raw)), 401, "not_authenticated")

    clock.set_now(t0)
    raw, token = services.api_token_issue(user=bidder)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=clock.now())
    problem(api.get("/api/v1/auth/me", **bearer(raw)), 401, "not_authenticated")


# ---- bad input: 422/400 problem+json, never 500 -------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "missing"),
    [
        ("/api/v1/auth/challenge", {}, ["username"]),
        ("/api/v1/auth/password", {"username": "x"}, ["password"]),
        ("/api/v1/auth/password", {}, ["username", "password"]),
        ("/api/v1/auth/certificate", {"username": "x", "nonce": "y"}, ["certificate_pem", "signature"]),
        (
            "/api/v1/auth/certificate",
            {"username": ["x"], "nonce": 1, "certificate_pem": {}, "signature": ""},
            [],
        ),
    ],
)
def test_missing_or_mistyped_fields_are_422(api, path, body, missing):
    answer = problem(post(api, path, body), 422, "request_invalid")
    fields = {e["field"] for e in answer["errors"]}
    assert set(missing) <= fields and fields
    assert not LoginAttempt.objects.exists()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("username=x", "application/x-www-form-urlencoded"),
        ("", "text/plain"),
    ],
)
def test_unreadable_bodies_are_problems(api, data, content_type):
    response = api.post("/api/v1/auth/challenge", data=data, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert {"code", "message_zh", "message_en", "status"} <= set(response.json())


def test_staff_registers_an_organization(api, staff):
    api.force_login(staff)
    response = post(
        api, "/api/v1/organizations", {"name": "长江路桥工程有限公司", "uscc": NEW_USCC, "kind": "bidder"}
    )
    assert response.status_code == 201, response.content
    org = Organization.objects.get(uscc=NEW_USCC)
    assert response.json() == {
        "id": org.pk,
        "name": "长江路桥工程有限公司",
        "uscc": NEW_USCC,
        "kind": "bidder",
        "region": "",
        "is_active": True,
    }
    problem(
        post(api, "/api/v1/organizations", {"name": "又一家", "uscc": NEW_USCC, "kind": "bidder"}),
        409,
        "uscc_taken",
    )


def test_a_malformed_code_is_422_with_the_article(api, staff):
    api.force_login(staff)
    bad = NEW_USCC[:17] + ("0" if NEW_USCC[17] != "0" else "1")
    body = problem(
        post(api, "/api/v1/organizations", {"name": "某公司", "uscc": bad, "kind": "bidder"}),
        422,
        "uscc_invalid",
    )
    assert body["article"] == "GB 32100-2015"
    assert [e["field"] for e in body["errors"]] == ["uscc"]
    assert not Organization.objects.filter(name="某公司").exists()
    problem(post(api, "/api/v1/organizations", {"name": "某公司"}), 422, "request_invalid")


def test_staff_registers_a_user_and_the_password_rule_is_a_problem(api, staff, bidder):
    api.force_login(staff)
    base = {"username": "newbie", "role": "bidder", "organization_id": bidder.organization_id}
    problem(post(api, "/api/v1/users", {**base, "password": "short"}), 422, "password_too_weak")
    problem(
        post(api, "/api/v1/users", {**base, "password": PASSWORD, "role": "staff"}),
        422,
        "role_organization_mismatch",
    )
    problem(
        post(api, "/api/v1/users", {**base, "password": PASSWORD, "organization_id": 10**9}), 404, "not_found"
    )
    response = post(api, "/api/v1/users", {**base, "password": PASSWORD, "email": "n@example.test"})
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "newbie" and response.json()["has_totp"] is False
    assert "password" not in response.json()


def test_a_bidder_registers_its_own_certificate_over_the_api(api, pki: Pki, trusted_ca, bidder):
    issued = pki.issue_for(bidder)
    api.force_login(bidder)
    path = f"/api/v1/organizations/{bidder.organization_id}/certificates"
    response = post(api, path, {"certificate_pem": issued.pem, "holder_id": bidder.pk})
    assert response.status_code == 201, response.content
    assert response.json()["serial_number"] == certs.serial_hex(issued.certificate)
    assert response.json()["status"] == "active" and response.json()["holder_id"] == bidder.pk
    listed = api.get(path).json()
    assert [c["fingerprint_sha256"] for c in listed] == [certs.fingerprint_sha256(issued.certificate)]

    pki.make_ca("rogue-ca", trust=False)
    rogue = pki.issue_for(bidder, ca="rogue-ca")
    body = problem(post(api, path, {"certificate_pem": rogue.pem}), 403, "cert_untrusted")
    assert body["certificate_serial"] == certs.serial_hex(rogue.certificate)
    assert Certificate.objects.count() == 1
    assert LogEvent.objects.filter(action="accounts.certificate.refused").count() == 1


def test_role_is_not_taken_from_the_client(api, bidder):
    """Nothing a bidder sends changes who it is: the role comes from the database."""
    response = post(
        api, "/api/v1/auth/password", {"username": bidder.username, "password": PASSWORD, "role": Role.STAFF}
    )
    assert response.json()["user"]["role"] == "bidder"


def test_logout_revokes_the_bearer_token_only(bidder):
    from tenderhall.accounts.services import api_token_issue

    client = Client()
    mine, _ = api_token_issue(user=bidder)
    other, _ = api_token_issue(user=bidder)
    assert client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {mine}").status_code == 200
    assert client.post("/api/v1/auth/logout", HTTP_AUTHORIZATION=f"Bearer {mine}").status_code == 204
    assert client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {mine}").status_code == 401
    assert client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200


def test_unknown_api_paths_and_methods_are_problem_json(db):
    client = Client()
    missing = client.get("/api/v1/no/such/thing")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"
    assert missing.json()["code"] == "no_such_endpoint"
    wrong = client.delete("/api/v1/log/sth")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


def test_challenges_are_limited_per_address(db):
    client = Client(REMOTE_ADDR="198.51.100.9")
    for _ in range(30):
        assert (
            client.post(
                "/api/v1/auth/challenge", {"username": "x"}, content_type="application/json"
            ).status_code
            == 200
        )
    refused = client.post("/api/v1/auth/challenge", {"username": "x"}, content_type="application/json")
    assert refused.status_code == 429
    assert refused.json()["code"] == "challenge_throttled"
    other = Client(REMOTE_ADDR="198.51.100.10")
    assert (
        other.post("/api/v1/auth/challenge", {"username": "x"}, content_type="application/json").status_code
        == 200
    )
