"""Sealed test bids, made the way the contract says the bidder tool makes them: an age v1 file to
two X25519 recipients (the bidder's own key and the section's opening key, the latter's stanza with
the deterministic ephemeral), with the ``tenderhall-opening-key`` claim stanza first."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

from tenderhall.core.crypto import age
from tenderhall.notices.models import OpeningKey
from tenderhall.projects.models import Section


def opening_recipient(section: Section) -> age.X25519Recipient:
    return age.X25519Recipient.from_string(OpeningKey.objects.get(section=section).recipient)


def seal(
    plaintext: bytes,
    *,
    opening: age.X25519Recipient,
    own: age.X25519Recipient | None = None,
    claim_for: age.X25519Recipient | None = None,
    claim: bool = True,
    recipients: Sequence[age.X25519Recipient] | None = None,
) -> bytes:
    """``claim_for`` names another opening key in the claim; ``recipients`` replaces the usual
    two (own, opening)."""
    own = own or age.generate_identity().recipient()
    chosen = list(recipients) if recipients is not None else [own, opening]
    extra = [age.opening_claim_stanza(claim_for or opening)] if claim else []

    def ephemeral(file_key: bytes, recipient: age.X25519Recipient) -> object:
        return age.opening_ephemeral(file_key, recipient) if recipient == opening else None

    out = io.BytesIO()
    age.encrypt(chosen, io.BytesIO(plaintext), out, extra_stanzas=extra, ephemeral_for=ephemeral)  # type: ignore[arg-type]
    return out.getvalue()


def sealed_bid(section: Section, size: int = 200_000) -> bytes:
    """A sealed bid of about ``size`` bytes of ciphertext for the section (random plaintext)."""
    return seal(os.urandom(max(size - 300, 1)), opening=opening_recipient(section))
