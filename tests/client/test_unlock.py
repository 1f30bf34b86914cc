"""The bidder tool in the opening hall against the real server (live_server): ``unlock`` (the
file key unwrapped locally, only the key sent), ``unlock --print-token``, ``custodian-share``
(backup decryption by 2 of 3 custodians) and ``record sign`` (the opening record confirmed).

The world is the opening tests' (tests/opening/conftest.py): three bidders with real sealed bids,
the clock at the deadline, the opening started."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tenderhall.accounts.models import User
from tenderhall.accounts.services import api_token_issue
from tenderhall.client.cli import main
from tenderhall.core.crypto import age, certs
from tenderhall.opening import records, services
from tenderhall.opening.models import (
    ConfirmationKind,
    Decryption,
    DecryptionStatus,
    HallSignIn,
    RecordConfirmation,
)
from tests.bidding.conftest import bid_dirs  # noqa: F401 - autouse fixture
from tests.notices.conftest import announced, t0, world  # noqa: F401 - fixtures used here
from tests.opening.conftest import Hall, _fresh_share_pool, make_hall  # noqa: F401 - fixtures used here


def profile_for(user: User, server: str, tmp_path: Path, signing_key: Path | None = None) -> Path:
    raw, _ = api_token_issue(user=user)
    path = tmp_path / f"{user.username}-profile.json"
    profile = {"server": server, "token": raw, "username": user.username}
    if signing_key is not None:
        profile["signing_key"] = str(signing_key)
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path


def key_file(key: Any, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def test_sign_in_signs_the_hall_challenge_with_the_signing_key(
    live_hall: Hall, live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    h = live_hall
    b0, b1 = h.bidders[0], h.bidders[1]
    own = key_file(b0.signer.key, tmp_path / "b0.key")
    profile = profile_for(b0.user, live_server.url, tmp_path, signing_key=own)
    assert cli(profile, "sign-in", "--section", str(h.section.pk)) == 0
    assert "signed in" in capsys.readouterr().out
    row = HallSignIn.objects.get(section=h.section, user=b0.user)
    assert row.certificate_fingerprint == certs.fingerprint_sha256(b0.signer.certificate)
    # another organization's key is refused by the server (exit 2), naming the rule
    wrong = key_file(b0.signer.key, tmp_path / "b0-as-b1.key")
    profile1 = profile_for(b1.user, live_server.url, tmp_path)
    assert cli(profile1, "sign-in", "--section", str(h.section.pk), "--key", str(wrong)) == 2
    assert "signature_invalid" in capsys.readouterr().err
    assert not HallSignIn.objects.filter(user=b1.user).exists()


def test_sign_challenge_signs_hall_challenges_but_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = key_file(Ed25519PrivateKey.generate(), tmp_path / "k.pem")
    text = certs.hall_challenge_text("a" * 32, 7, "bidder1")
    assert main(["sign-challenge", "--key", str(key), text]) == 0
    assert base64.b64decode(capsys.readouterr().out.strip())
    for bad in (
        "tenderhall-hall:v1:short:7:bidder1",
        "tenderhall-hall:v1:" + "a" * 32 + ":x:bidder1",
        "manifest",
    ):
        assert main(["sign-challenge", "--key", str(key), bad]) != 0


def identity_file(identity: age.X25519Identity, path: Path) -> Path:
    path.write_text(age.format_identity_file(identity), encoding="utf-8")
    return path


def cli(profile: Path, *args: str) -> int:
    return main(["--profile", str(profile), *args])


@pytest.fixture
def live_hall(make_hall: Callable[..., Hall], live_server: Any) -> Hall:  # noqa: F811
    h = make_hall()
    services.decryption_window_open(acting_user=h.host, section=h.section, minutes=30)
    return h


def test_unlock_sends_only_the_file_key_and_decrypts(
    live_hall: Hall, live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    h = live_hall
    b = h.bidders[0]
    profile = profile_for(b.user, live_server.url, tmp_path)
    ident = identity_file(b.identity, tmp_path / "identity.txt")
    assert cli(profile, "unlock", "--section", str(h.section.pk), "-i", str(ident)) == 0
    assert "decrypted" in capsys.readouterr().out
    assert b.bid is not None
    d = Decryption.objects.get(bid=b.bid)
    assert d.status == DecryptionStatus.DECRYPTED
    # a second unlock is refused by the server (exit 2), naming the rule
    assert cli(profile, "unlock", "--section", str(h.section.pk), "-i", str(ident)) == 2
    assert "bid_already_decrypted" in capsys.readouterr().err


def test_unlock_with_a_pem_key_and_print_token(
    live_hall: Hall, live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    h = live_hall
    b = h.bidders[1]
    profile = profile_for(b.user, live_server.url, tmp_path)
    pem = b.identity.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "encryption.key").write_bytes(pem)
    args = ["unlock", "--section", str(h.section.pk), "-i", str(tmp_path / "encryption.key"), "--print-token"]
    assert cli(profile, *args) == 0
    assert base64.b64decode(capsys.readouterr().out.strip()) == b.file_key
    assert b.bid is not None
    assert Decryption.objects.get(bid=b.bid).status == DecryptionStatus.PENDING  # nothing was sent


def test_unlock_with_a_wrong_identity_is_refused_locally(
    live_hall: Hall, live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    h = live_hall
    b = h.bidders[0]
    profile = profile_for(b.user, live_server.url, tmp_path)
    ident = identity_file(age.generate_identity(), tmp_path / "other.txt")
    assert cli(profile, "unlock", "--section", str(h.section.pk), "-i", str(ident)) == 1
    assert b.bid is not None
    d = Decryption.objects.get(bid=b.bid)
    assert d.status == DecryptionStatus.PENDING and d.attempts == 0


def test_custodian_share_backup_decrypts_with_two_of_three(
    live_hall: Hall, live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    h = live_hall
    custodians = h.world.custodians[h.section.pk]
    first = custodians[0]
    profile = profile_for(first.user, live_server.url, tmp_path)
    ident = identity_file(first.identity, tmp_path / "c0.txt")
    # no backup asked yet: refused by the server
    assert cli(profile, "custodian-share", "--section", str(h.section.pk), "-i", str(ident)) == 2
    assert "backup_not_requested" in capsys.readouterr().err
    bid = h.bidders[0].bid
    assert bid is not None
    services.backup_request(acting_user=h.host, section=h.section, bid=bid)
    assert cli(profile, "custodian-share", "--section", str(h.section.pk), "-i", str(ident)) == 0
    assert "verified=True, 1/2" in capsys.readouterr().out
    assert Decryption.objects.get(bid=bid).status == DecryptionStatus.PENDING  # k-1 shares: nothing
    second = custodians[1]
    profile2 = profile_for(second.user, live_server.url, tmp_path)
    ident2 = identity_file(second.identity, tmp_path / "c1.txt")
    assert cli(profile2, "custodian-share", "--section", str(h.section.pk), "-i", str(ident2)) == 0
    assert Decryption.objects.get(bid=bid).status == DecryptionStatus.BACKUP_DECRYPTED
    # a bidder is no custodian
    bidder_profile = profile_for(h.bidders[1].user, live_server.url, tmp_path)
    other = identity_file(h.bidders[1].identity, tmp_path / "b1.txt")
    assert cli(bidder_profile, "custodian-share", "--section", str(h.section.pk), "-i", str(other)) == 2


def test_record_sign_confirms_the_opening_record(
    live_hall: Hall, live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    h = live_hall
    for b in h.bidders:
        services.bid_unlock(acting_user=b.user, section=h.section, file_key=b.file_key)
    services.decryption_window_close(acting_user=h.host, section=h.section)
    services.opening_read_out(acting_user=h.host, section=h.section)
    record = records.opening_record_generate(acting_user=h.host, section=h.section)
    b = h.bidders[0]
    profile = profile_for(b.user, live_server.url, tmp_path)
    key = tmp_path / "signing.key"
    key.write_bytes(
        b.signer.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    assert cli(profile, "record", "sign", "--section", str(h.section.pk), "--key", str(key)) == 0
    out = capsys.readouterr().out
    assert record.record_sha256 in out and "confirmed: signed" in out
    row = RecordConfirmation.objects.get(record=record, organization=b.user.organization)
    assert row.kind == ConfirmationKind.SIGNED
    # another bidder's key under b1's login: the server refuses it
    profile1 = profile_for(h.bidders[1].user, live_server.url, tmp_path)
    assert cli(profile1, "record", "sign", "--section", str(h.section.pk), "--key", str(key)) == 2
    assert "record_signature_invalid" in capsys.readouterr().err
