"""``tenderhall-bid``: the bidder's tool (DESIGN §4). It talks to the platform's HTTP API only.

Keys and login: ``keygen``, ``csr``, ``sign-challenge``, ``login``, ``whoami``. Bids
(docs/bid-package.md): ``make`` builds the signed bid package, ``check`` verifies one, ``seal``
encrypts it (age v1) to the bidder and the section's opening key, ``open`` decrypts,
``recipient`` prints a certificate's age recipient, ``submit`` uploads (resumable) and saves
the signed receipt, ``receipt verify`` checks a receipt offline.

Exit status: 0 done; 1 a local problem (files, keys, profile); 2 the server refused or could not
be reached. Errors are printed as ``code: 中文说明 / English message`` on stderr.

Keys are PKCS#8 PEM files readable by their owner only; when ``TENDERHALL_KEY_PASSPHRASE`` is set
they are written encrypted with it and read back with it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from tenderhall import __version__
from tenderhall.client import envelope, fingerprint, package, receipt, upload
from tenderhall.client.api import ApiClient, ApiError
from tenderhall.client.errors import ToolError
from tenderhall.client.files import atomic_output, file_sha256, read_bytes, refuse_existing
from tenderhall.core import clock
from tenderhall.core.canonical import canonical_json
from tenderhall.core.crypto import age, certs
from tenderhall.core.errors import DomainError

DEFAULT_SERVER = "http://127.0.0.1:8000"
PASSPHRASE_ENV = "TENDERHALL_KEY_PASSPHRASE"
SERVER_ENV = "TENDERHALL_SERVER"
HOME_ENV = "TENDERHALL_BID_HOME"

SIGNING_KEY = "signing.key"
SIGNING_PUB = "signing.pub.pem"
ENCRYPTION_KEY = "encryption.key"
ENCRYPTION_PUB = "encryption.pub.pem"
IDENTITY = "identity.txt"

CliError = ToolError  # a local refusal (exit 1)


# ------------------------------------------------------------------------------------------------
# helpers


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV, "")
    return value.encode("utf-8") if value else None


def _read(path: Path, what_zh: str, what_en: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(
            "file_unreadable",
            f"无法读取{what_zh}文件 {path}：{exc.strerror}",
            f"Cannot read the {what_en} file {path}: {exc.strerror}",
        ) from exc


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the first byte on; never overwrite."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise CliError(
            "file_exists", f"文件已存在，不会覆盖：{path}", f"Refusing to overwrite {path}"
        ) from exc
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), mode)  # the umask may have widened or narrowed it
        fh.write(data)


def _default_profile() -> Path:
    home = os.environ.get(HOME_ENV)
    base = Path(home) if home else Path.home() / ".config" / "tenderhall-bid"
    return base / "profile.json"


def _profile_path(args: argparse.Namespace) -> Path:
    return Path(args.profile) if args.profile else _default_profile()


def _save_profile(path: Path, profile: dict[str, Any]) -> None:
    """Write the profile (it holds a bearer token) atomically, mode 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".profile.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(profile, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_profile(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CliError(
            "not_logged_in",
            "尚未登录，请先运行 tenderhall-bid login",
            "Not logged in; run tenderhall-bid login first",
        )
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(
            "profile_invalid", f"登录信息文件损坏：{path}", f"The profile file is damaged: {path}"
        ) from exc
    if not isinstance(profile, dict) or not all(isinstance(profile.get(k), str) for k in ("server", "token")):
        raise CliError("profile_invalid", f"登录信息文件损坏：{path}", f"The profile file is damaged: {path}")
    return profile


def _require_str(body: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not isinstance(body.get(k), str)]
    if missing:
        raise ApiError(
            {
                "code": "bad_response",
                "message_zh": f"服务器的应答缺少字段：{', '.join(missing)}",
                "message_en": f"The server's answer lacks: {', '.join(missing)}",
                "detail": "",
            }
        )


class _Pinned:
    def __init__(self, pem: str, key_id: str) -> None:
        self.pem = pem
        self.key_id = key_id


def _fetch_platform_key(api: ApiClient) -> _Pinned:
    answer = api.get_json("/api/v1/log/key")
    _require_str(answer, "public_key_pem", "key_id")
    try:
        key = receipt.PlatformKey.from_pem(answer["public_key_pem"])
    except ToolError as exc:
        raise ApiError(
            {"code": exc.code, "message_zh": exc.message_zh, "message_en": exc.message_en}
        ) from exc
    if key.key_id != answer["key_id"].lower():
        raise ApiError(
            {
                "code": "platform_key_invalid",
                "message_zh": "服务器给出的平台公钥与其编号不符",
                "message_en": "The server's platform key does not match its key id",
                "detail": "",
            }
        )
    return _Pinned(answer["public_key_pem"], key.key_id)


def _check_pin(path: Path, server: str, platform: _Pinned) -> None:
    """Trust on first use: a later login to the same server must see the same platform key."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(old, dict) or old.get("server") != server:
        return
    pinned = old.get("platform_key_id")
    if isinstance(pinned, str) and pinned and pinned != platform.key_id:
        raise ApiError(
            {
                "code": "platform_key_changed",
                "message_zh": (
                    f"服务器的平台公钥已改变（原 {pinned[:16]}…，现 {platform.key_id[:16]}…）；"
                    "请向交易中心核实后删除登录信息文件再登录"
                ),
                "message_en": (
                    f"The server's platform key changed (pinned {pinned[:16]}…, now {platform.key_id[:16]}…); "
                    f"check with the trading centre, then delete {path} and log in again"
                ),
                "detail": "",
            }
        )


def _optional_profile(args: argparse.Namespace) -> dict[str, Any] | None:
    path = _profile_path(args)
    return _load_profile(path) if path.is_file() else None


def _server_for(args: argparse.Namespace) -> str:
    """--server, else the logged-in server, else $TENDERHALL_SERVER, else the default."""
    if getattr(args, "server", None):
        return str(args.server).rstrip("/")
    profile = _optional_profile(args)
    if profile is not None:
        return profile["server"]
    return (os.environ.get(SERVER_ENV) or DEFAULT_SERVER).rstrip("/")


def _opening_key(server: str, section_id: int) -> tuple[str, age.X25519Recipient]:
    """The section's code and published opening key (public endpoint, no login needed)."""
    with ApiClient(server) as api:
        answer = api.get_json(f"/api/v1/sections/{section_id}/opening-key")
    _require_str(answer, "section_code", "recipient")
    if answer.get("section_id") != section_id:
        raise ApiError(
            {
                "code": "bad_response",
                "message_zh": "服务器返回了另一个标段的开标公钥",
                "message_en": "The server answered with another section's opening key",
                "detail": "",
            }
        )
    try:
        recipient = age.X25519Recipient.from_string(answer["recipient"])
    except age.AgeError as exc:
        raise ApiError(
            {
                "code": "bad_response",
                "message_zh": "开标公钥格式错误",
                "message_en": "malformed opening key",
                "detail": "",
            }
        ) from exc
    return answer["section_code"], recipient


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


# ------------------------------------------------------------------------------------------------
# commands


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    paths = [out / name for name in (SIGNING_KEY, SIGNING_PUB, ENCRYPTION_KEY, ENCRYPTION_PUB, IDENTITY)]
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise CliError(
            "file_exists",
            f"文件已存在，不会覆盖：{', '.join(existing)}",
            f"Refusing to overwrite: {', '.join(existing)}",
        )
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    passphrase = _passphrase()
    signing = certs.generate_signing_key(args.algorithm)
    encryption = certs.generate_encryption_key()
    _write_new(out / SIGNING_KEY, certs.private_key_to_pem(signing, passphrase), 0o600)
    _write_new(out / SIGNING_PUB, certs.public_key_to_pem(signing.public_key()), 0o644)
    _write_new(out / ENCRYPTION_KEY, certs.private_key_to_pem(encryption, passphrase), 0o600)
    _write_new(out / ENCRYPTION_PUB, certs.public_key_to_pem(encryption.public_key()), 0o644)
    # The same X25519 key in age's identity format, so `age -d -i identity.txt bid.age` works.
    # age identity files hold the key in clear (age-keygen writes them so too): mode 0600.
    identity = age.identity_from_private_key(encryption)
    _write_new(out / IDENTITY, age.format_identity_file(identity, created=clock.now()).encode("ascii"), 0o600)
    protected = (
        "（已用口令加密 / encrypted with the passphrase）"
        if passphrase
        else f"（未加密 / not encrypted: set {PASSPHRASE_ENV} to protect it）"
    )
    print(f"签名密钥 / signing key ({args.algorithm}): {out / SIGNING_KEY} {protected}")
    print(f"加密密钥 / encryption key (x25519): {out / ENCRYPTION_KEY}")
    print(f"公钥 / public keys: {out / SIGNING_PUB}, {out / ENCRYPTION_PUB}")
    print(
        f"age 私钥 / age identity: {out / IDENTITY}（未加密 / not encrypted）"
        f" — age 公钥 / recipient: {identity.recipient()}"
    )
    return 0


def cmd_csr(args: argparse.Namespace) -> int:
    key = certs.load_signing_key(_read(Path(args.key), "私钥", "key"), _passphrase())
    subject = certs.make_subject(common_name=args.common_name, organization=args.organization, uscc=args.uscc)
    csr = certs.create_csr(signing_key=key, subject=subject)
    pem = csr.public_bytes(Encoding.PEM)
    if args.output == "-":
        sys.stdout.write(pem.decode("ascii"))
    else:
        _write_new(Path(args.output), pem, 0o644)
        print(f"证书请求 / CSR: {args.output} ({certs.subject_text(subject)})")
    return 0


def cmd_sign_challenge(args: argparse.Namespace) -> int:
    # Sign login and hall sign-in challenges only: a page must not get a signature over anything else.
    if args.challenge.startswith(certs.HALL_CHALLENGE_PREFIX + ":"):
        certs.parse_hall_challenge(args.challenge)
    else:
        certs.parse_challenge(args.challenge)
    key = certs.load_signing_key(_read(Path(args.key), "私钥", "key"), _passphrase())
    print(base64.b64encode(certs.sign_challenge(key, args.challenge)).decode("ascii"))
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    key = certs.load_signing_key(_read(Path(args.key), "私钥", "key"), _passphrase())
    cert_pem = _read(Path(args.cert), "证书", "certificate")
    cert = certs.load_certificate(cert_pem)
    if certs.public_key_to_pem(key.public_key()) != certs.public_key_to_pem(cert.public_key()):  # type: ignore[arg-type]
        raise CliError(
            "key_cert_mismatch",
            "私钥与证书不匹配",
            "The private key does not belong to this certificate",
        )
    server = args.server.rstrip("/")
    path = _profile_path(args)
    with ApiClient(server) as api:
        platform = _fetch_platform_key(api)
        _check_pin(path, server, platform)
        answer = api.post_json("/api/v1/auth/challenge", {"username": args.username})
        _require_str(answer, "nonce", "challenge")
        nonce = answer["nonce"]
        # Never sign what the server sends: rebuild the expected text and compare.
        try:
            expected = certs.challenge_text(nonce, args.username)
        except DomainError as exc:
            raise ApiError(
                {"code": exc.code, "message_zh": exc.message_zh, "message_en": exc.message_en}
            ) from exc
        if answer["challenge"] != expected:
            raise ApiError(
                {
                    "code": "challenge_mismatch",
                    "message_zh": "服务器发来的登录挑战格式不符，已拒绝签名",
                    "message_en": "The server's login challenge is not in the expected form; refusing to sign it",
                    "detail": "",
                }
            )
        signature = certs.sign_challenge(key, expected)
        session = api.post_json(
            "/api/v1/auth/certificate",
            {
                "username": args.username,
                "nonce": nonce,
                "certificate_pem": cert_pem.decode("ascii", "replace"),
                "signature": base64.b64encode(signature).decode("ascii"),
            },
        )
    _require_str(session, "token", "expires_at")
    raw_user = session.get("user")
    user: dict[str, Any] = raw_user if isinstance(raw_user, dict) else {}
    _save_profile(
        path,
        {
            "server": server,
            "username": str(user.get("username") or args.username),
            "token": session["token"],
            "expires_at": session["expires_at"],
            # Pinned here, used offline by `receipt verify` (a receipt is only as good as the key).
            "platform_key_pem": platform.pem,
            "platform_key_id": platform.key_id,
            # Defaults for `make`.
            "signing_key": str(Path(args.key).resolve()),
            "signing_cert": str(Path(args.cert).resolve()),
        },
    )
    print(
        f"已登录 / Logged in: {user.get('username', args.username)}"
        f" — {user.get('organization', '')} ({user.get('role', '')}),"
        f" 有效期至 / valid until {session['expires_at']}"
    )
    print(f"平台公钥 / platform key pinned: {platform.key_id}")
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    profile = _load_profile(_profile_path(args))
    if args.server and args.server.rstrip("/") != profile["server"]:
        # The token belongs to one server; never show it to another.
        raise CliError(
            "profile_server_mismatch",
            f"当前登录的服务器是 {profile['server']}，请先登录 {args.server}",
            f"You are logged in to {profile['server']}; log in to {args.server} first",
        )
    with ApiClient(profile["server"], token=profile["token"]) as api:
        me = api.get_json("/api/v1/auth/me")
    print(json.dumps(me, ensure_ascii=False, indent=2))
    return 0


def cmd_make(args: argparse.Namespace) -> int:
    out = Path(args.output)
    refuse_existing(out)
    summary = package.parse_summary(
        read_bytes(Path(args.summary), "开标一览表", "summary").decode("utf-8", "replace")
    )
    opening_summary, bond_reference = package.validate_summary(summary, bond_reference=args.bond_reference)
    attachments = package.collect_attachments(Path(args.directory))
    profile = _optional_profile(args) or {}
    key_path = args.key or profile.get("signing_key")
    cert_path = args.cert or profile.get("signing_cert")
    if not key_path or not cert_path:
        raise ToolError(
            "signing_key_required",
            "请用 --key 和 --cert 指定签名私钥和签名证书（或先用它们登录）",
            "Give the signing key and certificate with --key and --cert (or log in with them first)",
        )
    signer = package.load_signer(Path(key_path), Path(cert_path), _passphrase())
    section_code, _ = _opening_key(_server_for(args), args.section)
    with atomic_output(out) as fh:
        manifest = package.build_package(
            fh,
            section_id=args.section,
            section_code=section_code,
            opening_summary=opening_summary,
            bond_reference=bond_reference,
            attachments=attachments,
            signer=signer,
            machine=fingerprint.machine_fingerprint(),
            made_at=clock.now(),
        )
    total = sum(f["size"] for f in manifest["files"])
    print(
        f"投标文件包 / bid package: {out} — 标段 / section {section_code},"
        f" {manifest['bidder']['name']} ({manifest['bidder']['uscc']}),"
        f" 报价 / price {opening_summary['price']} 元, {len(manifest['files'])} 个附件 / files ({_mib(total)})"
    )
    print(f"下一步 / next: tenderhall-bid seal --section {args.section} {out} -o {out.with_suffix('.age')}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    manifest = package.verify_package(Path(args.package))
    summary = manifest.get("opening_summary", {})
    print(
        f"package OK: 标段 / section {manifest['section']['code']} (id {manifest['section']['id']}),"
        f" {manifest['bidder']['name']} ({manifest['bidder']['uscc']}), 报价 / price {summary.get('price')} 元,"
        f" {len(manifest['files'])} 个附件 / files, made_at {manifest.get('made_at')}"
    )
    return 0


def _own_recipient(args: argparse.Namespace) -> age.X25519Recipient | None:
    if args.encryption_cert:
        return envelope.recipient_from_certificate_file(Path(args.encryption_cert))
    if args.encryption_key:
        identities = envelope.identities_from_file(Path(args.encryption_key), _passphrase())
        return identities[0].recipient()
    return None


def cmd_seal(args: argparse.Namespace) -> int:
    src, out = Path(args.input), Path(args.output)
    refuse_existing(out)
    recipients = envelope.recipients_from_args(
        args.recipient or [], [Path(p) for p in args.recipients_file or []]
    )
    own = _own_recipient(args)
    opening: age.X25519Recipient | None = None
    if args.section is not None:
        if own is None:
            raise ToolError(
                "encryption_key_required",
                "按标段加密时须用 --encryption-cert 或 --encryption-key 指定本单位的加密证书或私钥，"
                "否则开标时本单位无法解密",
                "Sealing for a section needs your own encryption certificate or key "
                "(--encryption-cert or --encryption-key): you decrypt your bid at the opening",
            )
        manifest = package.read_manifest(src)
        section = manifest.get("section")
        made_for = section.get("id") if isinstance(section, dict) else None
        if made_for != args.section:
            raise ToolError(
                "package_wrong_section",
                f"该投标文件包是为标段 {made_for} 制作的，不是标段 {args.section}",
                f"This bid package was made for section {made_for}, not {args.section}",
            )
        code, opening = _opening_key(_server_for(args), args.section)
    if own is not None:
        recipients.insert(0, own)
    envelope.seal(src, out, recipients, opening=opening)
    names = [str(r) for r in recipients]
    if opening is not None:
        names.append(
            f"{opening}（标段 / section {code} 开标公钥 / opening key, id {age.opening_key_id(opening)}）"
        )
    print(f"已加密 / sealed: {out} → " + ", ".join(names))
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    identities = [
        i for path in args.identity for i in envelope.identities_from_file(Path(path), _passphrase())
    ]
    envelope.open_envelope(Path(args.input), Path(args.output), identities)
    print(f"已解密 / opened: {args.output}")
    return 0


def cmd_recipient(args: argparse.Namespace) -> int:
    print(envelope.recipient_from_certificate_file(Path(args.certificate)))
    return 0


def _logged_in(args: argparse.Namespace) -> dict[str, Any]:
    profile = _load_profile(_profile_path(args))
    if getattr(args, "server", None) and args.server.rstrip("/") != profile["server"]:
        raise ToolError(
            "profile_server_mismatch",
            f"当前登录的服务器是 {profile['server']}，请先登录 {args.server}",
            f"You are logged in to {profile['server']}; log in to {args.server} first",
        )
    return profile


def _pinned_key(args: argparse.Namespace) -> receipt.PlatformKey:
    if args.platform_key:
        return receipt.PlatformKey.from_pem(read_bytes(Path(args.platform_key), "平台公钥", "platform key"))
    path = _profile_path(args)
    profile = _load_profile(path) if path.is_file() else {}
    pem = profile.get("platform_key_pem")
    if not isinstance(pem, str) or not pem:
        raise ToolError(
            "platform_key_missing",
            "没有已保存的平台公钥：请先登录（登录时保存），或用 --platform-key 指定",
            "No pinned platform key: log in first (login saves it) or give --platform-key",
        )
    return receipt.PlatformKey.from_pem(pem)


def cmd_submit(args: argparse.Namespace) -> int:
    profile = _logged_in(args)
    path = Path(args.input)
    if not path.is_file():
        raise ToolError("file_unreadable", f"文件不存在：{path}", f"No such file: {path}")
    chunk = args.chunk_mib * upload.MIB if args.chunk_mib else None
    with ApiClient(profile["server"], token=profile["token"]) as api:
        result = upload.Uploader(
            api, server=profile["server"], section_id=args.section, path=path, chunk_bytes=chunk
        ).run()
    got = result.receipt
    print(f"已递交 / submitted: {path} ({_mib(result.size)}), 回执 / receipt saved to {result.receipt_file}")
    if got.get("ciphertext_sha256") != result.sha256 or got.get("ciphertext_size") != result.size:
        raise ToolError(
            "receipt_mismatch",
            "回执中的密文哈希或大小与本地文件不符，请联系交易中心",
            "The receipt's ciphertext hash or size differs from the local file; contact the trading centre",
        )
    if isinstance(profile.get("platform_key_pem"), str):
        receipt.verify_receipt(got, receipt.PlatformKey.from_pem(profile["platform_key_pem"]))
        print(
            f"receipt OK: 日志序号 / log index {got['log']['index']}, 接收时间 / received_at {got['received_at']}"
        )
    return 0


def cmd_receipt_verify(args: argparse.Namespace) -> int:
    key = _pinned_key(args)
    data = receipt.verify_receipt(receipt.load_receipt(Path(args.receipt)), key)
    if args.bid:
        sha256, size = file_sha256(Path(args.bid))
        if (sha256, size) != (data["ciphertext_sha256"], data["ciphertext_size"]):
            raise ToolError(
                "receipt_file_mismatch",
                f"{args.bid} 不是回执所对应的密文（哈希或大小不符）",
                f"{args.bid} is not the ciphertext this receipt is for (hash or size differs)",
            )
    print(
        f"receipt OK: 标段 / section {data['section']['code']}, {data['bidder']['name']} ({data['bidder']['uscc']}),"
        f" 密文 / ciphertext sha256 {data['ciphertext_sha256']} ({data['ciphertext_size']} bytes),"
        f" 接收时间 / received_at {data['received_at']}, 日志序号 / log index {data['log']['index']}"
        f" of {data['log']['tree_size']}, 平台公钥 / platform key {key.key_id[:16]}…"
    )
    return 0


# ------------------------------------------------------------------------------------------------
# the opening hall: unlock, custodian share, record signature


SEALED_SHARE_VERSION = 1  # notices/opening_key.py: version byte ‖ index byte ‖ 16-byte share
SHARE_BYTES = 16
RECORD_TEXT = "tenderhall-opening-record:v1:"


def cmd_sign_in(args: argparse.Namespace) -> int:
    """Sign in to a section's opening hall with the signing certificate (a one-time challenge)."""
    profile = _logged_in(args)
    key_path = args.key or profile.get("signing_key")
    if not key_path:
        raise ToolError("key_missing", "请用 --key 指定签名私钥", "Give the signing key with --key")
    key = certs.load_signing_key(_read(Path(key_path), "私钥", "key"), _passphrase())
    base = f"/api/v1/sections/{args.section}/hall"
    with ApiClient(profile["server"], token=profile["token"]) as api:
        answer = api.post_json(f"{base}/challenge", {})
        _require_str(answer, "nonce", "challenge")
        # Never sign what the server sends: rebuild the expected text and compare.
        try:
            expected = certs.hall_challenge_text(answer["nonce"], args.section, profile["username"])
        except DomainError as exc:
            raise ToolError(exc.code, exc.message_zh, exc.message_en) from exc
        if answer["challenge"] != expected:
            raise ToolError(
                "challenge_mismatch",
                "服务器发来的签到挑战格式不符，已拒绝签名",
                "The server's sign-in challenge is not in the expected form; refusing to sign it",
            )
        signature = base64.b64encode(certs.sign_challenge(key, expected)).decode("ascii")
        result = api.post_json(f"{base}/sign-in", {"nonce": answer["nonce"], "signature": signature})
    print(f"已签到 / signed in: {result.get('signed_in_at')}")
    return 0


def _identities(path: str) -> list[age.X25519Identity]:
    return envelope.identities_from_file(Path(path), _passphrase())


def cmd_unlock(args: argparse.Namespace) -> int:
    """Unwrap the file key locally from the bid's age header; only the 16-byte key leaves."""
    profile = _logged_in(args)
    identities = _identities(args.identity)
    base = f"/api/v1/sections/{args.section}"
    with ApiClient(profile["server"], token=profile["token"]) as api:
        body = api.get_json(f"{base}/bid/header")
        _require_str(body, "header")
        try:
            header_bytes = base64.b64decode(body["header"], validate=True)
        except ValueError as exc:
            raise ToolError(
                "header_invalid", "服务器返回的密文头无法解析", "The server sent an unreadable header"
            ) from exc
        header = age.parse_header(io.BytesIO(header_bytes))
        file_key = age.unwrap_file_key(header, identities)
        token = base64.b64encode(file_key).decode("ascii")
        if args.print_token:
            print(token)
            return 0
        result = api.post_json(f"{base}/hall/unlock", {"file_key": token})
        # The server decrypts in the background: follow the bid's status until it settles.
        deadline = time.monotonic() + args.wait
        while result.get("status") == "queued" and time.monotonic() < deadline:
            time.sleep(0.5)
            mine = api.get_json(f"{base}/hall").get("me") or {}
            result = mine.get("bid") or result
    print(f"解密状态 / status: {result.get('status')} {result.get('reason_code') or ''}".rstrip())
    return 0 if result.get("status") in ("decrypted", "backup_decrypted") else 1


def _open_share(blob: bytes, identities: list[age.X25519Identity]) -> tuple[int, bytes]:
    # The sealed share format of notices/opening_key.py (the tool does not import server code).
    plain = age.decrypt_bytes(identities, blob)
    if len(plain) != 2 + SHARE_BYTES or plain[0] != SEALED_SHARE_VERSION:
        raise ToolError(
            "opening_key_share_invalid",
            "密钥分片文件格式错误",
            "The sealed key share is not in the expected format",
        )
    return plain[1], plain[2:]


def cmd_custodian_share(args: argparse.Namespace) -> int:
    """A custodian opens its own sealed share locally and sends the share (backup decryption)."""
    profile = _logged_in(args)
    identities = _identities(args.identity)
    base = f"/api/v1/sections/{args.section}/hall"
    with ApiClient(profile["server"], token=profile["token"]) as api:
        body = api.get_json(f"{base}/my-share")
        _require_str(body, "encrypted_share")
        index, share = _open_share(base64.b64decode(body["encrypted_share"]), identities)
        if index != body.get("share_index"):
            raise ToolError(
                "share_index_mismatch",
                "密钥分片序号与服务器登记的不符",
                "The share's index differs from the one the server lists",
            )
        payload = {"share_index": index, "share": base64.b64encode(share).decode("ascii")}
        result = api.post_json(f"{base}/shares", payload)
    print(
        f"分片 / share {index}: verified={result.get('verified')}, "
        f"{result.get('shares_held')}/{result.get('threshold')}"
    )
    return 0


def cmd_record_sign(args: argparse.Namespace) -> int:
    """Fetch the opening record, show it, and sign its SHA-256 with the signing key."""
    profile = _logged_in(args)
    key = certs.load_signing_key(_read(Path(args.key), "私钥", "key"), _passphrase())
    base = f"/api/v1/sections/{args.section}/hall/record"
    with ApiClient(profile["server"], token=profile["token"]) as api:
        body = api.get_json(base)
        record = body.get("record")
        digest = body.get("sha256")
        if not isinstance(record, dict) or not isinstance(digest, str):
            raise ToolError(
                "record_invalid", "服务器返回的开标记录格式错误", "The server sent a malformed record"
            )
        # Sign only what we can recompute: the canonical JSON we were shown.
        if hashlib.sha256(canonical_json(record)).hexdigest() != digest:
            raise ToolError(
                "record_hash_mismatch",
                "开标记录与其哈希值不符，拒绝签名",
                "The record does not match its SHA-256; not signing",
            )
        print(json.dumps(record, ensure_ascii=False, indent=2))
        print(f"sha256: {digest}")
        signature = certs.sign_data(key, (RECORD_TEXT + digest).encode("ascii"))
        result = api.post_json(
            f"{base}/confirm", {"sha256": digest, "signature": base64.b64encode(signature).decode("ascii")}
        )
    print(f"已确认 / confirmed: {result.get('status')}")
    return 0


# ------------------------------------------------------------------------------------------------
# entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tenderhall-bid",
        description="投标人工具：密钥、证书请求、证书登录 / The bidder's tool for tenderhall",
        epilog="Exit status: 0 done, 1 local problem, 2 refused by or unreachable server.",
    )
    parser.add_argument("--version", action="version", version=f"tenderhall-bid {__version__}")
    parser.add_argument(
        "--profile",
        help=f"login profile file (default: ${HOME_ENV}/profile.json or ~/.config/tenderhall-bid/profile.json)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("keygen", help="make a signing key and an X25519 encryption key")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--algorithm", choices=["ed25519", "p256"], default="ed25519")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("csr", help="make a certificate signing request for the signing key")
    p.add_argument("--key", required=True, metavar="FILE", help="the signing key (DIR/signing.key)")
    p.add_argument("--common-name", required=True, metavar="NAME")
    p.add_argument("--organization", required=True, metavar="ORG")
    p.add_argument("--uscc", required=True, metavar="CODE", help="统一社会信用代码")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file, or - for stdout")
    p.set_defaults(func=cmd_csr)

    p = sub.add_parser(
        "sign-challenge", help="sign a login or hall sign-in challenge from the web page; prints base64"
    )
    p.add_argument("--key", required=True, metavar="FILE")
    p.add_argument("challenge", metavar="CHALLENGE_TEXT")
    p.set_defaults(func=cmd_sign_challenge)

    p = sub.add_parser("login", help="log in with the signing certificate")
    p.add_argument("--server", default=os.environ.get(SERVER_ENV) or DEFAULT_SERVER, metavar="URL")
    p.add_argument("--username", required=True, metavar="U")
    p.add_argument("--key", required=True, metavar="FILE")
    p.add_argument("--cert", required=True, metavar="FILE")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("whoami", help="show who the saved login is")
    p.add_argument("--server", metavar="URL", help="check that the profile is for this server")
    p.set_defaults(func=cmd_whoami)

    server_help = "the platform (default: the logged-in server, $TENDERHALL_SERVER or " + DEFAULT_SERVER + ")"
    p = sub.add_parser(
        "make",
        help="build the signed bid package (ZIP) from an opening summary and a directory of files",
        description="Build the bid package of docs/bid-package.md: manifest.json (canonical JSON), "
        "manifest.sig, signing.pem and attachments/… from DIR. summary.json = "
        '{"price": "1234567.89", "duration_days": 180, "quality": "合格", '
        '"project_manager": {"name": "…", "certificate_number": "…"}, "bond_reference": "…"}; '
        "the price is a string, never a number.",
    )
    p.add_argument("--section", required=True, type=int, metavar="ID", help="the section (标段) id")
    p.add_argument("--summary", required=True, metavar="FILE", help="the opening summary (开标一览表), JSON")
    p.add_argument("directory", metavar="DIR", help="the bid documents; every file becomes attachments/…")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the package to write (bid.zip)")
    p.add_argument("--key", metavar="FILE", help="signing key (default: the one you logged in with)")
    p.add_argument("--cert", metavar="FILE", help="signing certificate (default: the one you logged in with)")
    p.add_argument(
        "--bond-reference", metavar="REF", help="bid bond / e-guarantee reference (保证金/保函编号)"
    )
    p.add_argument("--server", metavar="URL", help=server_help)
    p.set_defaults(func=cmd_make)

    p = sub.add_parser("check", help="verify a bid package: layout, signature and file hashes")
    p.add_argument("package", metavar="BID_ZIP")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "seal",
        help="encrypt a file (age v1) to recipients, or a bid package to you and a section's opening key",
        description="age v1 encryption, streaming. With --section ID the recipients are your own "
        "encryption key and the section's published opening key, with the opening-key claim stanza "
        "(docs/bid-package.md); -r/-R add more recipients.",
    )
    p.add_argument(
        "-r", "--recipient", action="append", metavar="AGE1…", help="an age recipient (repeatable)"
    )
    p.add_argument(
        "-R", "--recipients-file", action="append", metavar="FILE", help="a file of age recipients"
    )
    p.add_argument("--section", type=int, metavar="ID", help="seal a bid package for this section")
    own = p.add_mutually_exclusive_group()
    own.add_argument("--encryption-cert", metavar="FILE", help="your encryption certificate (X25519)")
    own.add_argument(
        "--encryption-key", metavar="FILE", help="your encryption key (PEM or age identity file)"
    )
    p.add_argument("--server", metavar="URL", help=server_help)
    p.add_argument("input", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.set_defaults(func=cmd_seal)

    p = sub.add_parser("open", help="decrypt an age file (no partial output on failure)")
    p.add_argument(
        "-i", "--identity", action="append", required=True, metavar="FILE",
        help="an age identity file (AGE-SECRET-KEY-1…) or a PEM X25519 key (repeatable)",
    )  # fmt: skip
    p.add_argument("input", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.set_defaults(func=cmd_open)

    p = sub.add_parser("recipient", help="print an encryption certificate's X25519 key as age1…")
    p.add_argument("certificate", metavar="CERT")
    p.set_defaults(func=cmd_recipient)

    p = sub.add_parser(
        "submit",
        help="upload a sealed bid (resumable) and save the signed receipt",
        description="Resumable chunked upload. Progress and retries go to stderr; the state is kept in "
        "FILE.upload.json, so running the same command again continues where it stopped. The receipt "
        "is saved as FILE.receipt.json and checked against the pinned platform key.",
    )
    p.add_argument("--section", required=True, type=int, metavar="ID")
    p.add_argument(
        "--chunk-mib", type=_positive_int, metavar="N", help="chunk size in MiB (default: the server's)"
    )
    p.add_argument("--server", metavar="URL", help="check that the login is for this server")
    p.add_argument("input", metavar="BID_AGE")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("receipt", help="bid receipts")
    receipt_sub = p.add_subparsers(dest="receipt_command", required=True, metavar="ACTION")
    p = receipt_sub.add_parser(
        "verify",
        help="verify a receipt offline",
        description="Checks, in order: format, platform_key, signature, leaf_hash, commitment, inclusion, "
        "signed_tree_head. Exit 0 and 'receipt OK', or 1 naming the failing check.",
    )
    p.add_argument("receipt", metavar="RECEIPT_JSON")
    p.add_argument(
        "--platform-key", metavar="FILE", help="the platform public key PEM (default: pinned at login)"
    )
    p.add_argument("--bid", metavar="BID_AGE", help="also check that this file is the receipted ciphertext")
    p.set_defaults(func=cmd_receipt_verify)

    p = sub.add_parser(
        "sign-in",
        help="sign in to a section's opening hall with your signing certificate",
        description="Gets a one-time challenge from the hall, checks its form, signs it with your "
        "signing key and sends the signature.",
    )
    p.add_argument("--section", required=True, type=int, metavar="ID")
    p.add_argument("--key", metavar="FILE", help="signing key (default: the one used to log in)")
    p.set_defaults(func=cmd_sign_in)

    p = sub.add_parser(
        "unlock",
        help="at the opening: unwrap your bid's file key locally and send only that key",
        description="Fetches your bid's age header, unwraps the 16-byte file key with your identity "
        "and sends it to the hall; the private key never leaves this machine.",
    )
    p.add_argument("--section", required=True, type=int, metavar="ID")
    p.add_argument(
        "-i", "--identity", required=True, metavar="FILE", help="age identity file or PEM X25519 key"
    )
    p.add_argument(
        "--wait", type=float, default=120.0, metavar="SECONDS", help="how long to follow the decryption"
    )
    p.add_argument(
        "--print-token", action="store_true", help="print the base64 file key (to paste in the hall) instead"
    )
    p.add_argument("--server", metavar="URL", help="check that the login is for this server")
    p.set_defaults(func=cmd_unlock)

    p = sub.add_parser(
        "custodian-share", help="backup decryption: open your sealed key share locally and send it"
    )
    p.add_argument("--section", required=True, type=int, metavar="ID")
    p.add_argument(
        "-i", "--identity", required=True, metavar="FILE", help="age identity file or PEM X25519 key"
    )
    p.add_argument("--server", metavar="URL", help="check that the login is for this server")
    p.set_defaults(func=cmd_custodian_share)

    p = sub.add_parser("record", help="the opening record (开标记录)")
    record_sub = p.add_subparsers(dest="record_command", required=True, metavar="ACTION")
    p = record_sub.add_parser("sign", help="show the opening record and confirm it with your signing key")
    p.add_argument("--section", required=True, type=int, metavar="ID")
    p.add_argument("--key", required=True, metavar="FILE", help="the signing key (signing.key)")
    p.add_argument("--server", metavar="URL", help="check that the login is for this server")
    p.set_defaults(func=cmd_record_sign)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a positive whole number is needed, not {text!r}")
    return value


def _report(code: str, message_zh: str, message_en: str, detail: str = "") -> None:
    print(f"{code}: {message_zh} / {message_en}", file=sys.stderr)
    if detail and message_zh not in detail and message_en not in detail:
        print(f"  {detail}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except ApiError as exc:
        _report(exc.code, exc.message_zh, exc.message_en, exc.detail)
        return 2
    except DomainError as exc:
        _report(exc.code, exc.message_zh, exc.message_en)
        return 1
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
