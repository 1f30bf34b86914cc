"""The opening tests' world: the notices world with the tender announced (section 1 has an opening
key split 2-of-3 among agent, centre staff and supervisor, who hold real encryption keys), three
bidders with registered signing certificates who obtained the documents, made real bid packages
with tenderhall.client.package, sealed them to their own key and the opening key, and submitted
them through bidding.services before the deadline (24 March 2026 09:30)."""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client

from tenderhall.accounts.models import Certificate, CertificateUsage, Role, User
from tenderhall.bidding import services as bidding_services
from tenderhall.bidding.models import Bid
from tenderhall.client import package as bid_package
from tenderhall.core import clock
from tenderhall.core.crypto import age, certs
from tenderhall.notices import opening_key
from tenderhall.notices import services as notices_services
from tenderhall.notices.models import KeyShare
from tenderhall.opening import services
from tenderhall.opening.models import HallSignIn
from tenderhall.projects.models import Section
from tests.bidding.conftest import bid_dirs  # noqa: F401 - autouse fixture
from tests.bidding.factories import opening_recipient, seal
from tests.factories import UserFactory
from tests.notices.conftest import (  # noqa: F401 - fixtures used here
    DEADLINE,
    World,
    announced,
    bearer_for,
    client_for,
    t0,
    world,
)
from tests.notices.factories import CA_START, _test_ca, trusted_ca_row

API = "/api/v1"


@dataclass
class Bidder:
    user: User
    signer: bid_package.Signer
    identity: age.X25519Identity  # the bidder's own encryption key
    bid: Bid | None = None
    ciphertext: bytes = b""
    file_key: bytes = b""
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hall:
    world: World
    bidders: list[Bidder]

    @property
    def section(self) -> Section:
        return self.world.section

    @property
    def host(self) -> User:
        return self.world.agent

    def shares(self) -> list[tuple[User, int, bytes]]:
        """Each custodian's share, unwrapped with its own key (as tenderhall-bid custodian-share does)."""
        out = []
        for custodian in self.world.custodians[self.section.pk]:
            row = KeyShare.objects.get(opening_key__section=self.section, custodian=custodian.user)
            index, share = opening_key.open_share(bytes(row.encrypted_share), custodian.identity)
            out.append((custodian.user, index, share))
        return out


def signer_for(user: User) -> bid_package.Signer:
    """A signing certificate from the test CA, registered to the user's organization."""
    ca_key, ca_cert = _test_ca()
    org = user.organization
    assert org is not None
    key = Ed25519PrivateKey.generate()
    subject = certs.make_subject(common_name=user.username, organization=org.name, uscc=org.uscc)
    cert = certs.issue_signing_certificate(
        ca_key=ca_key, ca_cert=ca_cert, subject=subject, public_key=key.public_key(), now=CA_START
    )
    Certificate.objects.create(
        organization=org,
        holder=user,
        issuer_ca=trusted_ca_row(),
        usage=CertificateUsage.SIGNING,
        certificate_pem=certs.certificate_to_pem(cert).decode(),
        fingerprint_sha256=certs.fingerprint_sha256(cert),
        serial_number=certs.serial_hex(cert),
        subject=certs.subject_text(cert.subject),
        key_algorithm="ed25519",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        registered_at=CA_START,
    )
    return bid_package.Signer(key, cert)


def make_package(
    bidder: Bidder, section: Section, tmp: Path, *, price: str = "11800000.00", section_id: int | None = None
) -> bytes:
    attachment = tmp / f"{bidder.user.username}-tech.pdf"
    attachment.write_bytes(b"%PDF-1.7 technical proposal of " + bidder.user.username.encode() * 2000)
    out = io.BytesIO()
    bidder.manifest = bid_package.build_package(
        out,
        section_id=section_id or section.pk,
        section_code=section.code,
        opening_summary={
            "price": price,
            "duration_days": 180,
            "quality": "合格",
            "project_manager": {"name": "张三", "certificate_number": "辽121060800001"},
        },
        bond_reference=f"BOND-{bidder.user.username}",
        attachments=[("attachments/tech.pdf", attachment)],
        signer=bidder.signer,
        machine={
            "machine_code": "m1",
            "mac": "00:11:22:33:44:55",
            "disk_serial": "d1",
            "cpu_id": "c1",
            "tool_version": "1",
        },
        made_at=clock.now(),
    )
    return out.getvalue()


def file_key_of(ciphertext: bytes, identity: age.X25519Identity) -> bytes:
    """What the bidder tool does locally: unwrap the file key from the header with its own key."""
    return age.unwrap_file_key(age.parse_header(io.BytesIO(ciphertext)), [identity])


def submit(bidder: Bidder, section: Section, plaintext: bytes, capture: Any) -> None:
    own = bidder.identity.recipient()
    bidder.ciphertext = seal(plaintext, opening=opening_recipient(section), own=own)
    bidder.file_key = file_key_of(bidder.ciphertext, bidder.identity)
    user = bidder.user
    upload = bidding_services.upload_create(acting_user=user, section=section, size=len(bidder.ciphertext))
    bidding_services.upload_append_chunk(
        acting_user=user,
        upload=upload,
        offset=0,
        stream=io.BytesIO(bidder.ciphertext),
        length=len(bidder.ciphertext),
    )
    with capture(execute=True):
        bidder.bid = bidding_services.bid_finalize(acting_user=user, upload=upload)


def sign_in_body(bidder: Bidder, section: Section) -> dict[str, str]:
    """What `tenderhall-bid sign-in` sends: a fresh hall challenge signed with the bidder's key."""
    challenge = services.hall_challenge_issue(acting_user=bidder.user, section=section)
    signature = certs.sign_challenge(bidder.signer.key, services.hall_challenge_text(challenge))
    return {"nonce": challenge.nonce, "signature": base64.b64encode(signature).decode("ascii")}


def sign_in(bidder: Bidder, section: Section) -> HallSignIn:
    body = sign_in_body(bidder, section)
    return services.hall_sign_in(
        acting_user=bidder.user,
        section=section,
        nonce=body["nonce"],
        signature=base64.b64decode(body["signature"]),
    )


@pytest.fixture(autouse=True)
def _fresh_share_pool() -> Any:
    services.share_pool.clear()
    yield
    services.share_pool.clear()


@pytest.fixture
def make_hall(
    announced: World,  # noqa: F811
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., Hall]:
    def build(
        count: int = 3,
        *,
        start: bool = True,
        packages: dict[int, Callable[[Bidder, Section, Path], bytes]] | None = None,
    ) -> Hall:
        """``packages`` makes bidder i's plaintext instead of a good package (bad-package cases)."""
        w = announced
        users = [w.bidder, w.other_bidder] + [UserFactory(role=Role.BIDDER) for _ in range(max(count - 2, 0))]
        bidders = []
        for i, user in enumerate(users[:count]):
            notices_services.document_obtain(acting_user=user, section=w.section)
            b = Bidder(user=user, signer=signer_for(user), identity=age.generate_identity())
            maker = (packages or {}).get(i)
            price = f"{11_800_000 + i * 1000}.00"
            plaintext = (
                maker(b, w.section, tmp_path) if maker else make_package(b, w.section, tmp_path, price=price)
            )
            submit(b, w.section, plaintext, django_capture_on_commit_callbacks)
            bidders.append(b)
        hall = Hall(world=w, bidders=bidders)
        if start:
            clock.set_now(DEADLINE)
            services.opening_start(section=w.section)
            w.refresh()
        return hall

    return build


@pytest.fixture
def hall(make_hall: Callable[..., Hall]) -> Hall:
    return make_hall()


@pytest.fixture
def decrypting(hall: Hall) -> Hall:
    services.decryption_window_open(acting_user=hall.host, section=hall.section, minutes=30)
    return hall


def api_client(user: User | None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.defaults.update(bearer_for(user))
    return client


def later(minutes: int) -> None:
    clock.set_now(clock.now() + dt.timedelta(minutes=minutes))
