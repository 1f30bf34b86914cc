"""Audit action tags of the notices app (one enum, as Warehouse does)."""

from enum import StrEnum


class NoticesAction(StrEnum):
    NOTICE_DRAFTED = "notices.notice.drafted"
    NOTICE_EDITED = "notices.notice.edited"
    NOTICE_PUBLISHED = "notices.notice.published"
    SECTION_ANNOUNCED = "notices.section.announced"
    SECTION_TIMELINE_CHANGED = "notices.section.timeline_changed"
    OPENING_KEY_CREATED = "notices.opening_key.created"
    KEY_SHARE_COMMITTED = "notices.key_share.committed"
    DOCUMENT_PUBLISHED = "notices.document.published"
    # Logged without the actor and with a keyed commitment instead of the obtainer: who obtained
    # the documents, and how many did, is secret until the deadline (法 Art 22), audit readers too.
    DOCUMENT_OBTAINED = "notices.document.obtained"
    QUESTION_ASKED = "notices.question.asked"
    CLARIFICATION_PUBLISHED = "notices.clarification.published"
