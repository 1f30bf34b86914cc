"""Accounts API: sign-in (password, certificate), organizations, people, certificates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from tenderhall.accounts import selectors, services
from tenderhall.accounts.models import Organization, User
from tenderhall.core.permissions import Permission, require

router = Router(tags=["accounts"])


def _user(request: HttpRequest) -> User:
    # Authenticated by accounts.auth (session or bearer token) before any handler that calls this.
    return request.user  # type: ignore[return-value]


class ChallengeIn(Schema):
    username: str


class ChallengeOut(Schema):
    nonce: str
    challenge: str
    expires_at: dt.datetime


class CertificateLoginIn(Schema):
    username: str
    nonce: str
    certificate_pem: str
    signature: str


class PasswordLoginIn(Schema):
    username: str
    password: str
    totp_code: str = ""


class MeOut(Schema):
    username: str
    organization: str
    organization_uscc: str
    role: str


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime
    user: MeOut


def _me(user: User) -> dict[str, Any]:
    org = user.organization
    return {
        "username": user.username,
        "organization": org.name if org else "",
        "organization_uscc": org.uscc if org else "",
        "role": user.role,
    }


def _token(user: User) -> dict[str, Any]:
    raw, token = services.api_token_issue(user=user)
    return {"token": raw, "expires_at": token.expires_at, "user": _me(user)}


@router.post("/auth/challenge", response=ChallengeOut, auth=None, summary="A one-time challenge to sign")
def auth_challenge(request: HttpRequest, body: ChallengeIn) -> dict[str, Any]:
    from tenderhall.core.crypto.certs import challenge_text

    challenge = services.login_challenge_issue(username=body.username)
    return {
        "nonce": challenge.nonce,
        "challenge": challenge_text(challenge.nonce, challenge.username),
        "expires_at": challenge.expires_at,
    }


@router.post("/auth/certificate", response=TokenOut, auth=None, summary="Sign in with a signing certificate")
def auth_certificate(request: HttpRequest, body: CertificateLoginIn) -> dict[str, Any]:
    user = services.login_with_certificate(
        username=body.username,
        nonce=body.nonce,
        certificate_pem=body.certificate_pem,
        signature_b64=body.signature,
    )
    return _token(user)


@router.post("/auth/password", response=TokenOut, auth=None, summary="Sign in with a password (and TOTP)")
def auth_password(request: HttpRequest, body: PasswordLoginIn) -> dict[str, Any]:
    user = services.login_with_password(
        username=body.username, password=body.password, totp_code=body.totp_code
    )
    return _token(user)


@router.post(
    "/auth/logout", response={204: None}, summary="Sign out: revoke this bearer token or end the session"
)
def auth_logout(request: HttpRequest) -> None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        services.api_token_revoke(raw=header[7:].strip())
    else:
        from django.contrib.auth import logout

        logout(request)


@router.get("/auth/me", response=MeOut, summary="Who am I")
def auth_me(request: HttpRequest) -> dict[str, Any]:
    return _me(_user(request))


class OrganizationIn(Schema):
    name: str
    uscc: str
    kind: str
    region: str = ""
    contact_phone: str = ""


class OrganizationOut(Schema):
    id: int
    name: str
    uscc: str
    kind: str
    region: str
    is_active: bool


@router.get("/organizations", response=list[OrganizationOut], summary="Organizations I may see")
def organizations_list(request: HttpRequest) -> list[Organization]:
    return list(selectors.organizations_for_user(_user(request)))


@router.post("/organizations", response={201: OrganizationOut}, summary="Register an organization (staff)")
def organizations_create(request: HttpRequest, body: OrganizationIn) -> Organization:
    # 201 is the only declared response, so Ninja answers it (returning a tuple is deprecated).
    return services.organization_register(acting_user=_user(request), **body.dict())


@router.get("/organizations/{organization_id}", response=OrganizationOut)
def organizations_get(request: HttpRequest, organization_id: int) -> Organization:
    return selectors.organization_for_user(_user(request), organization_id)


class UserIn(Schema):
    username: str
    password: str
    role: str
    organization_id: int | None = None
    display_name: str = ""
    email: str = ""
    phone: str = ""


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    organization_id: int | None
    has_totp: bool


@router.get("/users", response=list[UserOut], summary="People I may see")
def users_list(request: HttpRequest) -> list[User]:
    return list(selectors.users_for_user(_user(request)))


@router.post("/users", response={201: UserOut}, summary="Register a user (staff)")
def users_create(request: HttpRequest, body: UserIn) -> User:
    require(_user(request), Permission.USER_CREATE)  # before any lookup: the answer must not depend on the id
    data = body.dict()
    org_id = data.pop("organization_id")
    organization = selectors.organization_for_user(_user(request), org_id) if org_id is not None else None
    return services.user_register(acting_user=_user(request), organization=organization, **data)


@router.get("/users/{user_id}", response=UserOut)
def users_get(request: HttpRequest, user_id: int) -> User:
    return selectors.user_for_user(_user(request), user_id)


class CertificateIn(Schema):
    certificate_pem: str
    holder_id: int | None = None


class CertificateOut(Schema):
    id: int
    usage: str
    status: str
    serial_number: str
    subject: str
    key_algorithm: str
    fingerprint_sha256: str
    not_before: dt.datetime
    not_after: dt.datetime
    holder_id: int | None
    certificate_pem: str


@router.get("/organizations/{organization_id}/certificates", response=list[CertificateOut])
def certificates_list(request: HttpRequest, organization_id: int) -> list[Any]:
    return list(selectors.certificates_for_organization(_user(request), organization_id))


@router.post("/organizations/{organization_id}/certificates", response={201: CertificateOut})
def certificates_register(request: HttpRequest, organization_id: int, body: CertificateIn) -> Any:
    organization = selectors.organization_for_user(_user(request), organization_id)
    holder = selectors.user_for_user(_user(request), body.holder_id) if body.holder_id is not None else None
    return services.certificate_register(
        acting_user=_user(request),
        organization=organization,
        certificate_pem=body.certificate_pem,
        holder=holder,
    )
