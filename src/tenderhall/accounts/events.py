"""Audit action tags of the accounts app (one enum, as Warehouse does)."""

from enum import StrEnum


class AccountsAction(StrEnum):
    PLATFORM_BOOTSTRAPPED = "accounts.platform.bootstrapped"
    ORGANIZATION_REGISTERED = "accounts.organization.registered"
    USER_REGISTERED = "accounts.user.registered"
    LOGIN_SUCCEEDED = "accounts.login.succeeded"
    LOGIN_REFUSED = "accounts.login.refused"
    TOTP_ENROLLED = "accounts.totp.enrolled"
    API_TOKEN_ISSUED = "accounts.api_token.issued"
    API_TOKEN_REVOKED = "accounts.api_token.revoked"
    TRUSTED_CA_ADDED = "accounts.trusted_ca.added"
    CRL_UPDATED = "accounts.trusted_ca.crl_updated"
    CERTIFICATE_REGISTERED = "accounts.certificate.registered"
    CERTIFICATE_REFUSED = "accounts.certificate.refused"
    CERTIFICATE_REVOKED = "accounts.certificate.revoked"
