"""`tenderhall ca`: a real X.509 test CA for demos and tests (DESIGN §4), kept under the data dir.

tenderhall ca init --name "Demo CA"            make a root and trust it
tenderhall ca issue --name "Demo CA" --csr signing.csr -o signing.pem [--register USCC [--holder USER]]
tenderhall ca issue --name "Demo CA" --encryption-key encryption.pub.pem --subject-from signing.pem -o enc.pem
tenderhall ca revoke --name "Demo CA" --serial 1A
tenderhall ca crl [--name "Demo CA"]          re-sign CRLs and give them to the platform
tenderhall ca list
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tenderhall.accounts import services
from tenderhall.accounts.models import Organization, TrustedCA, User
from tenderhall.core import clock
from tenderhall.core.crypto import certs
from tenderhall.core.crypto.ca_store import CaStore
from tenderhall.core.errors import DomainError


def ca_store() -> CaStore:
    return CaStore(Path(settings.DATA_DIR) / "ca")


def sync_crl(store: CaStore, name: str) -> int:
    """Re-sign the CRL on disk and hand it to the platform; returns how many certificates it revoked."""
    crl = store.refresh_crl(name, now=clock.now())
    ca = TrustedCA.objects.filter(name=name).first()
    if ca is None:
        return 0
    return len(
        services.trusted_ca_update_crl(acting_user=None, ca=ca, crl_pem=certs.crl_to_pem(crl).decode())
    )


class Command(BaseCommand):
    help = "Run the test certificate authority: init, issue, revoke, crl, list."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        init = sub.add_parser("init", help="create a root CA and trust it")
        init.add_argument("--name", required=True)
        init.add_argument("--valid-days", type=int, default=3650)
        init.add_argument("--no-trust", action="store_true", help="create it without trusting it")
        issue = sub.add_parser("issue", help="issue a signing (from a CSR) or an encryption certificate")
        issue.add_argument("--name", required=True)
        kind = issue.add_mutually_exclusive_group(required=True)
        kind.add_argument("--csr", type=Path, help="CSR of a signing key (Ed25519 or P-256)")
        kind.add_argument("--encryption-key", type=Path, help="X25519 public key (PEM)")
        issue.add_argument(
            "--subject-from", type=Path, help="with --encryption-key: copy the subject of this certificate"
        )
        issue.add_argument("--valid-days", type=int, default=730)
        issue.add_argument("-o", "--output", type=Path, required=True)
        issue.add_argument("--register", metavar="USCC", help="also register it to this organization")
        issue.add_argument("--holder", metavar="USERNAME", help="with --register: the person who holds it")
        revoke = sub.add_parser("revoke", help="revoke a certificate by serial (hex) and publish the CRL")
        revoke.add_argument("--name", required=True)
        revoke.add_argument("--serial", required=True)
        crl = sub.add_parser(
            "crl", help="re-sign CRLs (they expire after a week) and give them to the platform"
        )
        crl.add_argument("--name")
        sub.add_parser("list", help="list test CAs")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"do_{options['action']}")(options)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    def do_init(self, options: dict[str, Any]) -> None:
        store = ca_store()
        cert = store.init(options["name"], now=clock.now(), valid_days=options["valid_days"])
        pem = certs.certificate_to_pem(cert).decode()
        if not options["no_trust"]:
            crl_pem = certs.crl_to_pem(store.crl(options["name"])).decode()
            services.trusted_ca_add(
                acting_user=None, name=options["name"], certificate_pem=pem, crl_pem=crl_pem
            )
        self.stdout.write(f"CA {options['name']!r} created: {certs.fingerprint_sha256(cert)}")

    def do_issue(self, options: dict[str, Any]) -> None:
        store, now = ca_store(), clock.now()
        if options["csr"]:
            cert = store.issue_signing(
                options["name"],
                csr_pem=options["csr"].read_bytes(),
                valid_days=options["valid_days"],
                now=now,
            )
        else:
            if not options["subject_from"]:
                raise CommandError(
                    "--encryption-key needs --subject-from SIGNING_CERT (the holder's identity)"
                )
            subject = certs.load_certificate(options["subject_from"].read_bytes()).subject
            cert = store.issue_encryption(
                options["name"],
                public_key_pem=options["encryption_key"].read_bytes(),
                subject=subject,
                valid_days=options["valid_days"],
                now=now,
            )
        pem = certs.certificate_to_pem(cert)
        options["output"].write_bytes(pem)
        self.stdout.write(f"issued serial {certs.serial_hex(cert)} -> {options['output']}")
        if options["register"]:
            org = Organization.objects.filter(uscc=options["register"]).first()
            if org is None:
                raise CommandError(f"no organization with code {options['register']}")
            holder = None
            if options["holder"]:
                holder = User.objects.filter(username=options["holder"]).first()
                if holder is None:
                    raise CommandError(f"no user {options['holder']}")
            services.certificate_register(
                acting_user=None, organization=org, certificate_pem=pem.decode(), holder=holder
            )
            self.stdout.write(f"registered to {org.name}")

    def do_revoke(self, options: dict[str, Any]) -> None:
        store = ca_store()
        try:
            serial = int(options["serial"], 16)
        except ValueError as exc:
            raise CommandError(f"--serial is hexadecimal, not {options['serial']!r}") from exc
        store.revoke(options["name"], serial=serial, now=clock.now())
        revoked = sync_crl(store, options["name"])
        self.stdout.write(f"revoked {serial:X}; {revoked} registered certificate(s) marked revoked")

    def do_crl(self, options: dict[str, Any]) -> None:
        store = ca_store()
        for name in [options["name"]] if options["name"] else store.names():
            sync_crl(store, name)
            self.stdout.write(f"CRL of {name!r} re-signed and published")

    def do_list(self, options: dict[str, Any]) -> None:
        store = ca_store()
        trusted = set(TrustedCA.objects.values_list("name", flat=True))
        for name in store.names():
            self.stdout.write(f"{name}\t{'trusted' if name in trusted else 'not trusted'}")
