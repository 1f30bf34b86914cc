"""One permission enum, ``"<app>:<object>:<action>"`` (DESIGN §3), and the role grants.

Object-level scoping (a bidder sees only its own organization, and so on) is done by each app's
access helpers (``organization_for_user`` ...), which fetch and authorize in one call and answer
"not found" rather than "forbidden" so that nobody learns what exists.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tenderhall.core.errors import NotAuthenticated, PermissionDenied


class Permission(StrEnum):
    ORGANIZATION_VIEW = "accounts:organization:view"
    ORGANIZATION_VIEW_ALL = "accounts:organization:view_all"
    ORGANIZATION_CREATE = "accounts:organization:create"
    USER_VIEW_ALL = "accounts:user:view_all"
    USER_CREATE = "accounts:user:create"
    CERTIFICATE_REGISTER = "accounts:certificate:register"
    CERTIFICATE_REGISTER_OWN = "accounts:certificate:register_own"
    TRUSTED_CA_MANAGE = "accounts:trusted_ca:manage"
    AUDIT_VIEW = "core:audit:view"
    CALENDAR_EDIT = "core:calendar:edit"
    NOTIFICATION_VIEW_OWN = "core:notification:view_own"
    # projects: registration (项目登记) and its review by staff
    PROJECT_CREATE = "projects:project:create"  # agents and tenderers, for projects they are party to
    PROJECT_VIEW_ALL = "projects:project:view_all"
    PROJECT_REVIEW = "projects:project:review"
    CHECKLIST_EDIT = "projects:checklist:edit"
    # notices: announcements, documents, clarifications (on the sender's own projects)
    NOTICE_PUBLISH = "notices:notice:publish"
    DOCUMENT_PUBLISH = "notices:document:publish"
    DOCUMENT_OBTAIN = "notices:document:obtain"
    OBTAINMENT_VIEW = (
        "notices:obtainment:view"  # who obtained documents: never before the deadline (法 Art 22)
    )
    QUESTION_ASK = "notices:question:ask"
    QUESTION_VIEW_ASKER = "notices:question:view_asker"  # the trading centre only
    CLARIFICATION_PUBLISH = "notices:clarification:publish"
    # disputes
    OBJECTION_RAISE = "disputes:objection:raise"
    OBJECTION_ANSWER = "disputes:objection:answer"  # the project's tenderer or agent
    OBJECTION_VIEW_ALL = "disputes:objection:view_all"
    # venues (场地安排)
    ROOM_MANAGE = "venues:room:manage"
    BOOKING_REQUEST = "venues:booking:request"
    BOOKING_DECIDE = "venues:booking:decide"
    VENUE_VIEW = "venues:venue:view"
    # bidding: sealed bids
    BID_SUBMIT = "bidding:bid:submit"  # bidders, for their own organization
    BID_EVIDENCE_VIEW = "bidding:bid:view_evidence"  # supervisors: source address, machine fingerprint
    # opening (开标): the host (the project's agent or tenderer), bidders, the key custodians
    OPENING_HOST = "opening:session:host"
    OPENING_SIGN_IN = "opening:hall:sign_in"
    OPENING_UNLOCK = "opening:bid:unlock"
    OPENING_CUSTODIAN = "opening:share:submit"  # only the section's own custodians (checked per section)
    OPENING_WITNESS = "opening:witness:record"  # 见证记录: the trading centre's staff (seed 000 §7.3.2)
    # experts (专家库, 专家抽取, 评标委员会): identities secret until evaluation starts (法 Art 37)
    EXPERT_VIEW_ALL = "experts:expert:view_all"  # the expert database, ID numbers masked
    EXPERT_VIEW_ID = "experts:expert:view_id"  # full ID numbers: extraction staff only
    EXPERT_MANAGE = "experts:expert:manage"  # import, edit, status, bad-behaviour records
    EXPERT_PROFILE_OWN = "experts:profile:edit_own"  # an expert's own profile and leave periods
    EXTRACTION_REQUEST = "experts:extraction:request"  # request and run a draw (staff)
    EXTRACTION_WATCH = "experts:extraction:watch"  # see who was drawn before evaluation starts
    EXTRACTION_SEED_VIEW = "experts:extraction:view_seed"  # the seed before the result is decided
    EXTRACTION_STATUS_VIEW = "experts:extraction:view_status"  # counts and confirmations only
    VENUE_INVITATION_ANSWER = "experts:invitation:answer"  # a secondary venue's staff (要约)
    COMMITTEE_CHECK_IN = "experts:committee:check_in"  # venue staff check experts in
    COMMITTEE_SIT = "experts:committee:sit"  # an expert: reply, declare conflicts, elect the leader
    EXTRACTION_GATEWAY_REPLY = "experts:assignment:gateway_reply"  # the SMS/voice gateway's account


# Role values match accounts.models.Role (core may not import accounts: DESIGN §2 layers).
_EVERYONE = frozenset({Permission.ORGANIZATION_VIEW, Permission.NOTIFICATION_VIEW_OWN})
_READ_ALL = frozenset(
    {
        Permission.ORGANIZATION_VIEW_ALL,
        Permission.USER_VIEW_ALL,
        Permission.AUDIT_VIEW,
        Permission.PROJECT_VIEW_ALL,
        Permission.OBJECTION_VIEW_ALL,
        Permission.VENUE_VIEW,
        Permission.OBTAINMENT_VIEW,
        Permission.QUESTION_VIEW_ASKER,
    }
)
# The parties who run a tender: agents (招标代理机构) and tenderers (招标人).
_TENDER_PARTY = frozenset(
    {
        Permission.PROJECT_CREATE,
        Permission.NOTICE_PUBLISH,
        Permission.DOCUMENT_PUBLISH,
        Permission.CLARIFICATION_PUBLISH,
        Permission.OBJECTION_ANSWER,
        Permission.BOOKING_REQUEST,
        Permission.VENUE_VIEW,
        Permission.EXTRACTION_STATUS_VIEW,
    }
)

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "staff": _EVERYONE
    | _READ_ALL
    | {
        Permission.ORGANIZATION_CREATE,
        Permission.USER_CREATE,
        Permission.CERTIFICATE_REGISTER,
        Permission.TRUSTED_CA_MANAGE,
        Permission.CALENDAR_EDIT,
        Permission.PROJECT_REVIEW,
        Permission.CHECKLIST_EDIT,
        Permission.ROOM_MANAGE,
        Permission.BOOKING_DECIDE,
        Permission.OPENING_CUSTODIAN,
        Permission.OPENING_WITNESS,
        Permission.EXPERT_VIEW_ALL,
        Permission.EXPERT_VIEW_ID,
        Permission.EXPERT_MANAGE,
        Permission.EXTRACTION_REQUEST,
        Permission.EXTRACTION_WATCH,
        Permission.EXTRACTION_STATUS_VIEW,
        Permission.VENUE_INVITATION_ANSWER,
        Permission.COMMITTEE_CHECK_IN,
    },
    # Supervisors read everything and change nothing but their own records (DESIGN §3).
    "supervisor": _EVERYONE
    | _READ_ALL
    | {
        Permission.BID_EVIDENCE_VIEW,
        Permission.OPENING_CUSTODIAN,
        Permission.EXPERT_VIEW_ALL,
        Permission.EXTRACTION_WATCH,
        Permission.EXTRACTION_SEED_VIEW,
        Permission.EXTRACTION_STATUS_VIEW,
    },
    "auditor": _EVERYONE | _READ_ALL,
    "operator": _EVERYONE
    | {Permission.AUDIT_VIEW, Permission.EXTRACTION_SEED_VIEW, Permission.EXTRACTION_GATEWAY_REPLY},
    "agent": _EVERYONE
    | _TENDER_PARTY
    | {Permission.CERTIFICATE_REGISTER_OWN, Permission.OPENING_HOST, Permission.OPENING_CUSTODIAN},
    "tenderer": _EVERYONE
    | _TENDER_PARTY
    | {Permission.CERTIFICATE_REGISTER_OWN, Permission.OPENING_HOST, Permission.OPENING_CUSTODIAN},
    "bidder": _EVERYONE
    | {
        Permission.CERTIFICATE_REGISTER_OWN,
        Permission.DOCUMENT_OBTAIN,
        Permission.QUESTION_ASK,
        Permission.OBJECTION_RAISE,
        Permission.BID_SUBMIT,
        Permission.OPENING_SIGN_IN,
        Permission.OPENING_UNLOCK,
    },
    "expert": _EVERYONE | {Permission.EXPERT_PROFILE_OWN, Permission.COMMITTEE_SIT},
}


def permissions_of(user: Any) -> frozenset[Permission]:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return frozenset()
    return ROLE_PERMISSIONS.get(getattr(user, "role", ""), frozenset())


def has_permission(user: Any, permission: Permission) -> bool:
    return permission in permissions_of(user)


def require(user: Any, permission: Permission) -> None:
    """Raise the right problem: 401 for nobody, 403 for a signed-in user lacking the grant."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    if not has_permission(user, permission):
        raise PermissionDenied(str(permission))
