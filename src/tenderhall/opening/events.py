"""Audit action tags of the opening app."""

from enum import StrEnum


class OpeningAction(StrEnum):
    STARTED = "opening.session.started"
    SIGNED_IN = "opening.hall.signed_in"
    SIGN_IN_REFUSED = "opening.hall.sign_in_refused"
    FAILED = "opening.session.failed"
    WINDOW_OPENED = "opening.decryption.window_opened"
    UNLOCK_RECEIVED = "opening.bid.key_received"
    DECRYPTION_INTERRUPTED = "opening.bid.decryption_interrupted"
    UNLOCKED = "opening.bid.decrypted"
    UNLOCK_FAILED = "opening.bid.decryption_failed"
    UNLOCK_REFUSED = "opening.bid.unlock_refused"
    BACKUP_REQUESTED = "opening.backup.requested"
    SHARE_SUBMITTED = "opening.backup.share_submitted"
    SHARE_REFUSED = "opening.backup.share_refused"
    BACKUP_DECRYPTED = "opening.backup.decrypted"
    WINDOW_CLOSED = "opening.decryption.window_closed"
    READ_OUT = "opening.table.read_out"
    COEFFICIENT_DRAWN = "opening.coefficient.drawn"
    SUSPENDED = "opening.session.suspended"
    RESUMED = "opening.session.resumed"
    POSTPONED = "opening.session.postponed"
