"""The accounts pages: sign-in (password, TOTP, certificate), organizations, users, security."""

from __future__ import annotations

import datetime as dt
import html
import re

import pyotp
import pytest
from django.test import Client

from tenderhall.accounts import services
from tenderhall.accounts.models import Certificate, Organization, Role, User
from tenderhall.core import clock, ids
from tenderhall.core.crypto import certs
from tests.accounts.conftest import Issued, Pki
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"
NEW_USCC = ids.make_uscc("91440300MA000001")
STRONG = "Lantern-quiet-47"


@pytest.fixture
def client(db: None) -> Client:
    return Client(raise_request_exception=False)


def text(response) -> str:
    return html.unescape(response.content.decode())


def signed_in_as(client: Client) -> str | None:
    user = client.get("/").wsgi_request.user
    return user.username if user.is_authenticated else None


def password_login(client: Client, username: str, password: str, totp_code: str = "", query: str = ""):
    return client.post(
        LOGIN + query,
        {"method": "password", "username": username, "password": password, "totp_code": totp_code},
    )


# ---- password tab -------------------------------------------------------------------------------


def test_the_login_page_shows_the_password_tab(client):
    page = client.get(LOGIN)
    assert page.status_code == 200
    assert 'data-testid="password-login"' in page.content.decode()
    assert 'name="password"' in page.content.decode()


def test_password_sign_in_redirects_home(client, bidder):
    response = password_login(client, bidder.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == bidder.username


def test_password_sign_in_follows_next_on_this_site_only(client, bidder):
    response = password_login(client, bidder.username, PASSWORD, query="?next=/accounts/security/")
    assert response["Location"] == "/accounts/security/"
    client.logout()
    for evil in ("https://evil.example/phish", "//evil.example/", "javascript:alert(1)"):
        response = password_login(client, bidder.username, PASSWORD, query=f"?next={evil}")
        assert response.status_code == 302 and response["Location"] == "/", evil
        client.logout()


def test_a_wrong_password_shows_the_bilingual_message(client, bidder):
    page = password_login(client, bidder.username, "Wrong-password-1")
    assert page.status_code == 200
    assert "用户名或密码错误 / wrong username or password" in text(page)
    assert "Wrong-password-1" not in text(page)
    assert signed_in_as(client) is None


def test_the_throttle_message_shows_on_the_page(client, bidder, settings):
    settings.TENDERHALL_LOGIN_MAX_FAILURES = 1
    password_login(client, bidder.username, "Wrong-password-1")
    page = password_login(client, bidder.username, PASSWORD)
    assert "登录失败次数过多" in text(page) and "too many failed sign-ins" in text(page)
    assert signed_in_as(client) is None


def test_a_totp_user_is_asked_for_the_code(client, bidder, t0):
    secret = services.totp_new_secret()
    services.user_enroll_totp(acting_user=bidder, secret=secret, code=pyotp.TOTP(secret).at(clock.now()))
    page = password_login(client, bidder.username, PASSWORD)
    assert page.status_code == 200
    assert "请输入动态验证码 / enter the code from your authenticator app" in text(page)
    assert signed_in_as(client) is None

    clock.advance(dt.timedelta(seconds=30))
    code = pyotp.TOTP(secret).at(clock.now())
    assert password_login(client, bidder.username, PASSWORD, totp_code=code).status_code == 302
    assert signed_in_as(client) == bidder.username

    client.logout()
    page = password_login(client, bidder.username, PASSWORD, totp_code=code)  # the same code again
    assert "动态验证码错误或已使用" in text(page)
    assert signed_in_as(client) is None


def test_an_empty_form_asks_for_the_fields(client):
    page = client.post(LOGIN, {"method": "password"})
    assert page.status_code == 200
    assert page.context["password_form"].errors.keys() >= {"username", "password"}


# ---- certificate tab ----------------------------------------------------------------------------


def get_challenge(client: Client, username: str) -> tuple[str, str]:
    page = client.post(LOGIN, {"method": "challenge", "username": username})
    assert page.status_code == 200
    match = re.search(r'<pre data-testid="challenge">([^<]+)</pre>', page.content.decode())
    assert match, page.content.decode()
    challenge = html.unescape(match.group(1))
    nonce, shown_username = certs.parse_challenge(challenge)
    assert shown_username == username
    assert f'name="nonce" value="{nonce}"' in page.content.decode()
    return nonce, challenge


def certificate_post(client: Client, username: str, nonce: str, signature: str):
    return client.post(
        LOGIN, {"method": "certificate", "username": username, "nonce": nonce, "signature": signature}
    )


def test_the_certificate_tab_offers_a_challenge(client):
    page = client.get(LOGIN + "?tab=certificate")
    assert page.status_code == 200
    assert 'value="challenge"' in page.content.decode()


def test_certificate_sign_in_on_the_page(client, bidder, bidder_cert: Issued):
    nonce, challenge = get_challenge(client, bidder.username)
    response = certificate_post(client, bidder.username, nonce, bidder_cert.sign(challenge))
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == bidder.username


def test_certificate_sign_in_with_a_wrong_signature_shows_why(client, bidder, bidder_cert: Issued):
    nonce, _ = get_challenge(client, bidder.username)
    other = certs.challenge_text("D" * 32, bidder.username)
    page = certificate_post(client, bidder.username, nonce, bidder_cert.sign(other))
    assert page.status_code == 200
    assert "签名验证失败 / The signature does not verify" in text(page)
    assert signed_in_as(client) is None
    # and the nonce is spent: the right signature now comes too late
    challenge = certs.challenge_text(nonce, bidder.username)
    page = certificate_post(client, bidder.username, nonce, bidder_cert.sign(challenge))
    assert "登录挑战无效、已使用或已过期" in text(page)
    assert signed_in_as(client) is None


def test_certificate_sign_in_with_a_revoked_certificate(client, pki: Pki, staff, bidder, bidder_cert: Issued):
    pki.revoke(bidder_cert, acting_user=staff)
    nonce, challenge = get_challenge(client, bidder.username)
    page = certificate_post(client, bidder.username, nonce, bidder_cert.sign(challenge))
    assert "已吊销" in text(page) and "revoked" in text(page)
    assert signed_in_as(client) is None


# ---- organizations and users (staff) ------------------------------------------------------------


def test_staff_registers_an_organization_with_the_form(client, staff):
    client.force_login(staff)
    assert 'data-testid="organization-form"' in client.get("/accounts/organizations/").content.decode()
    response = client.post(
        "/accounts/organizations/",
        {"name": "北辰市政工程有限公司", "uscc": NEW_USCC, "kind": "bidder", "region": "北辰市"},
    )
    org = Organization.objects.get(uscc=NEW_USCC)
    assert response.status_code == 302 and response["Location"] == f"/accounts/organizations/{org.pk}/"
    page = client.get(response["Location"])
    assert "北辰市政工程有限公司" in text(page) and NEW_USCC in text(page)
    assert "北辰市政工程有限公司" in text(client.get("/accounts/organizations/"))


def test_a_malformed_code_shows_the_message_and_saves_nothing(client, staff):
    client.force_login(staff)
    before = Organization.objects.count()
    bad = NEW_USCC[:17] + ("0" if NEW_USCC[17] != "0" else "1")
    page = client.post("/accounts/organizations/", {"name": "某公司", "uscc": bad, "kind": "bidder"})
    assert page.status_code == 200
    assert "统一社会信用代码无效" in text(page) and "GB 32100-2015" in text(page)
    assert f"应为“{NEW_USCC[17]}”" in text(page)
    assert Organization.objects.count() == before


def test_staff_registers_a_user_with_the_form(client, staff, bidder):
    client.force_login(staff)
    form = {
        "username": "zhengshuang",
        "display_name": "郑爽",
        "role": Role.BIDDER,
        "organization": bidder.organization_id,
        "email": "zs@example.test",
        "password": STRONG,
    }
    response = client.post("/accounts/users/", form)
    assert response.status_code == 302 and response["Location"] == "/accounts/users/"
    user = User.objects.get(username="zhengshuang")
    assert (user.role, user.organization_id, user.display_name) == (
        Role.BIDDER,
        bidder.organization_id,
        "郑爽",
    )
    assert "zhengshuang" in text(client.get("/accounts/users/"))

    page = client.post("/accounts/users/", {**form, "username": "weak", "password": "12345"})
    assert page.status_code == 200 and "密码不符合要求" in text(page)
    assert not User.objects.filter(username="weak").exists()

    page = client.post("/accounts/users/", {**form, "username": "staffy", "role": Role.STAFF})
    assert "角色" in text(page) and not User.objects.filter(username="staffy").exists()


@pytest.mark.parametrize("path", ["/accounts/organizations/", "/accounts/users/"])
def test_a_bidder_gets_the_403_page(client, bidder, path):
    client.force_login(bidder)
    page = client.get(path)
    assert page.status_code == 403
    assert 'data-testid="error-message"' in page.content.decode()
    assert "无权执行此操作" in text(page) and "You are not allowed to do this" in text(page)


# ---- organization page --------------------------------------------------------------------------


def test_a_bidder_sees_its_own_organization_with_its_certificates(client, bidder, bidder_cert: Issued):
    client.force_login(bidder)
    page = client.get(f"/accounts/organizations/{bidder.organization_id}/")
    assert page.status_code == 200
    assert bidder.organization.name in text(page) and bidder.organization.uscc in text(page)
    assert certs.serial_hex(bidder_cert.certificate) in text(page)
    assert bidder.username in text(page)


def test_another_organization_is_a_404_page(client, bidder, other_bidder):
    client.force_login(bidder)
    page = client.get(f"/accounts/organizations/{other_bidder.organization_id}/")
    assert page.status_code == 404
    assert "机构不存在或无权查看" in text(page)
    assert other_bidder.organization.name not in text(page)
    assert other_bidder.organization.uscc not in text(page)


def test_a_bidder_registers_its_certificate_on_its_page(client, pki: Pki, trusted_ca, bidder):
    issued = pki.issue_for(bidder)
    client.force_login(bidder)
    url = f"/accounts/organizations/{bidder.organization_id}/"
    response = client.post(url, {"certificate_pem": issued.pem, "holder": bidder.pk})
    assert response.status_code == 302 and response["Location"] == url
    record = Certificate.objects.get()
    assert record.holder == bidder and record.organization_id == bidder.organization_id
    assert record.serial_number in text(client.get(url))

    page = client.post(url, {"certificate_pem": issued.pem})
    assert "该证书已登记" in text(page)
    pki.make_ca("rogue-ca", trust=False)
    rogue = pki.issue_for(bidder, ca="rogue-ca")
    page = client.post(url, {"certificate_pem": rogue.pem})
    assert "不是由平台信任的 CA 签发的" in text(page)
    assert Certificate.objects.count() == 1


# ---- security page: TOTP enrollment -------------------------------------------------------------


def test_totp_enrollment_on_the_security_page(client, bidder, t0):
    client.force_login(bidder)
    page = client.get("/accounts/security/")
    match = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.content.decode())
    assert match
    secret = match.group(1)
    assert f"secret={secret}" in text(page)  # the otpauth:// URI for the app

    wrong = "000000" if pyotp.TOTP(secret).at(clock.now()) != "000000" else "111111"
    page = client.post("/accounts/security/", {"secret": secret, "code": wrong})
    assert page.status_code == 200 and "动态验证码不正确" in text(page)
    bidder.refresh_from_db()
    assert not bidder.has_totp

    response = client.post(
        "/accounts/security/", {"secret": secret, "code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert response.status_code == 302
    bidder.refresh_from_db()
    assert bidder.has_totp and bidder.totp_secret == secret
    page = client.get("/accounts/security/")
    assert 'data-testid="totp-secret"' not in page.content.decode()


def test_the_security_page_needs_a_sign_in(client):
    response = client.get("/accounts/security/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_logout(client, bidder):
    client.force_login(bidder)
    assert client.get("/accounts/logout/").status_code == 405  # POST only (CSRF-protected)
    assert signed_in_as(client) == bidder.username
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert signed_in_as(client) is None
