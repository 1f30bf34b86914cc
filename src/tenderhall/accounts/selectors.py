"""Reads of the accounts app, and the access helpers that fetch and authorize in one call.

A bidder sees only its own organization, its people and its certificates; staff, supervisors and
auditors read all. Anything not visible answers "not found" (never "forbidden"), so nobody learns
what exists."""

from __future__ import annotations

from django.db.models import QuerySet

from tenderhall.accounts.models import Certificate, Organization, TrustedCA, User
from tenderhall.core.errors import NotFound
from tenderhall.core.permissions import Permission, has_permission, require


def organizations_for_user(user: User) -> QuerySet[Organization]:
    require(user, Permission.ORGANIZATION_VIEW)
    if has_permission(user, Permission.ORGANIZATION_VIEW_ALL):
        return Organization.objects.order_by("pk")
    if user.organization_id is None:
        return Organization.objects.none()
    return Organization.objects.filter(pk=user.organization_id).order_by("pk")


def organization_for_user(user: User, pk: int) -> Organization:
    org = organizations_for_user(user).filter(pk=pk).first()
    if org is None:
        raise NotFound("机构", "organization")
    return org


def users_for_user(user: User) -> QuerySet[User]:
    require(user, Permission.ORGANIZATION_VIEW)
    users = User.objects.select_related("organization").order_by("pk")
    if has_permission(user, Permission.USER_VIEW_ALL):
        return users
    if user.organization_id is None:
        return users.filter(pk=user.pk)
    return users.filter(organization_id=user.organization_id)


def user_for_user(user: User, pk: int) -> User:
    found = users_for_user(user).filter(pk=pk).first()
    if found is None:
        raise NotFound("用户", "user")
    return found


def certificates_for_organization(user: User, organization_pk: int) -> QuerySet[Certificate]:
    org = organization_for_user(user, organization_pk)
    return org.certificates.select_related("holder", "issuer_ca").order_by("pk")


def trusted_cas() -> QuerySet[TrustedCA]:
    return TrustedCA.objects.filter(is_active=True).order_by("pk")
