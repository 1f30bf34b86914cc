"""``tenderhall-bid``: the bidder's tool (DESIGN §4). It talks to the platform's HTTP API only.

Exit status: 0 done; 1 a local problem (files, keys, profile); 2 the server refused or could not
be reached. Errors are printed as ``code: 中文说明 / English message`` on stderr.

Keys are PKCS#8 PEM files readable by their owner only; when ``TENDERHALL_KEY_PASSPHRASE`` is set
they are written encrypted with it and read back with it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from tenderhall import __version__
from tenderhall.client.api import ApiClient, ApiError
from tenderhall.core.crypto import certs
from tenderhall.core.errors import DomainError

DEFAULT_SERVER = "http://127.0.0.1:8000"
PASSPHRASE_ENV = "TENDERHALL_KEY_PASSPHRASE"
SERVER_ENV = "TENDERHALL_SERVER"
HOME_ENV = "TENDERHALL_BID_HOME"

SIGNING_KEY = "signing.key"
SIGNING_PUB = "signing.pub.pem"
ENCRYPTION_KEY = "encryption.key"
ENCRYPTION_PUB = "encryption.pub.pem"


class CliError(DomainError):
    """A local refusal (exit 1)."""


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


# ------------------------------------------------------------------------------------------------
# commands


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    paths = [out / name for name in (SIGNING_KEY, SIGNING_PUB, ENCRYPTION_KEY, ENCRYPTION_PUB)]
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
    protected = (
        "（已用口令加密 / encrypted with the passphrase）"
        if passphrase
        else f"（未加密 / not encrypted: set {PASSPHRASE_ENV} to protect it）"
    )
    print(f"签名密钥 / signing key ({args.algorithm}): {out / SIGNING_KEY} {protected}")
    print(f"加密密钥 / encryption key (x25519): {out / ENCRYPTION_KEY}")
    print(f"公钥 / public keys: {out / SIGNING_PUB}, {out / ENCRYPTION_PUB}")
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
    # Sign login challenges only: a page must not be able to get a signature over anything else.
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
    with ApiClient(server) as api:
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
    path = _profile_path(args)
    _save_profile(
        path,
        {
            "server": server,
            "username": str(user.get("username") or args.username),
            "token": session["token"],
            "expires_at": session["expires_at"],
        },
    )
    print(
        f"已登录 / Logged in: {user.get('username', args.username)}"
        f" — {user.get('organization', '')} ({user.get('role', '')}),"
        f" 有效期至 / valid until {session['expires_at']}"
    )
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

    p = sub.add_parser("sign-challenge", help="sign a login challenge from the web page; prints base64")
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
    return parser


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
