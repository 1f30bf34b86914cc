"""An in-memory stand-in for the platform's bid API (the sealed-bid contract), as an httpx transport.

The live tests run the tool against the real server; this double lets the tool's own tests
provoke what a real server rarely does on cue: a dropped connection in the middle of a chunk,
an answer lost after the server acted, a 500, an offset mismatch. It follows the contract:
problem+json refusals, offsets, finalize checks of the envelope, a sealed log event with the bid
commitment, and a receipt signed with an Ed25519 key over an RFC 9162 tree.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tenderhall.core import merkle
from tenderhall.core.canonical import canonical_json
from tenderhall.core.crypto import age

RECEIVED_AT = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)


@dataclass
class Upload:
    id: str
    section: int
    size: int
    sha256: str
    data: bytearray = field(default_factory=bytearray)
    status: str = "open"


@dataclass
class Fault:
    """Make the next matching request fail: ``kind`` is "drop" (connection error before the server
    acts), "lost" (the server acts, the answer is lost), "bogus" (it acts, the answer makes no
    sense) or "500"."""

    method: str
    path_part: str
    kind: str
    times: int = 1


class FakeHall:
    def __init__(
        self, *, chunk_size: int = 64 * 1024, uscc: str = "91110000600037341L", name: str = "东方建设"
    ) -> None:
        self.chunk_size = chunk_size
        self.uscc = uscc
        self.name = name
        self.key = Ed25519PrivateKey.generate()
        self.sections: dict[int, tuple[str, age.X25519Identity]] = {}
        self.uploads: dict[str, Upload] = {}
        self.bids: dict[int, dict[str, Any]] = {}
        self.leaves: list[bytes] = [merkle.leaf_hash(b"genesis")]
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, int]] = []  # method, path, body length
        # Called with each request before it is served (e.g. to let another client act first).
        self.on_request: Callable[[httpx.Request], None] | None = None
        self.transport = httpx.MockTransport(self.handle)

    # -- setup -----------------------------------------------------------------------------------

    def add_section(self, section_id: int, code: str) -> age.X25519Identity:
        identity = age.generate_identity()
        self.sections[section_id] = (code, identity)
        return identity

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.key.public_key().public_bytes_raw()).hexdigest()

    @property
    def public_key_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def puts(self) -> list[int]:
        """The body sizes of the chunk uploads so far."""
        return [n for method, path, n in self.requests if method == "PUT"]

    def client_factory(self) -> Callable[..., Any]:
        from tenderhall.client.api import ApiClient

        def make(server: str, token: str | None = None, **kwargs: Any) -> ApiClient:
            return ApiClient(server, token, transport=self.transport)

        return make

    # -- HTTP ------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        path = request.url.path
        self.requests.append((request.method, path, len(body)))
        if self.on_request is not None:
            self.on_request(request)
        fault = next((f for f in self.faults if f.method == request.method and f.path_part in path), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            if fault.kind == "drop":
                raise httpx.RemoteProtocolError("connection dropped", request=request)
            if fault.kind == "500":
                return httpx.Response(500, text="<h1>Server Error</h1>")
            if fault.kind == "bogus":  # it happens; the answer is nonsense
                self.route(request, path, body)
                return ok({"received": -1})
            self.route(request, path, body)  # "lost": it happens, the answer does not arrive
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return self.route(request, path, body)

    def route(self, request: httpx.Request, path: str, body: bytes) -> httpx.Response:
        parts = path.removeprefix("/api/v1/").split("/")
        method = request.method
        if parts == ["log", "key"]:
            return ok({"algorithm": "Ed25519", "key_id": self.key_id, "public_key_pem": self.public_key_pem})
        if parts[0] == "sections" and len(parts) == 3:
            section_id = int(parts[1])
            if section_id not in self.sections:
                return problem(404, "not_found")
            if parts[2] == "opening-key":
                code, identity = self.sections[section_id]
                return ok(
                    {"section_id": section_id, "section_code": code, "recipient": str(identity.recipient())}
                )
            if parts[2] == "uploads" and method == "POST":
                return self.create(section_id, json.loads(body))
            if parts[2] == "bid" and method == "GET":
                bid = self.bids.get(section_id)
                return ok(bid) if bid else problem(404, "no_bid")
        if parts[0] == "uploads":
            upload = self.uploads.get(parts[1])
            if upload is None:
                return problem(404, "not_found")
            if len(parts) == 2 and method == "GET":
                return ok(
                    {
                        "upload_id": upload.id,
                        "size": upload.size,
                        "received": len(upload.data),
                        "status": upload.status,
                    }
                )
            if len(parts) == 2 and method == "DELETE":
                upload.status = "aborted"
                return httpx.Response(204)
            if parts[2] == "chunks" and method == "PUT":
                return self.append(upload, int(request.url.params["offset"]), body)
            if parts[2] == "finalize" and method == "POST":
                return self.finalize(upload)
        return problem(404, "not_found")

    def create(self, section_id: int, payload: dict[str, Any]) -> httpx.Response:
        if payload["size"] <= 0:
            return problem(422, "bid_too_large")
        upload = Upload(str(uuid.uuid4()), section_id, payload["size"], payload.get("sha256", ""))
        self.uploads[upload.id] = upload
        return ok(
            {
                "upload_id": upload.id,
                "size": upload.size,
                "received": 0,
                "chunk_size": self.chunk_size,
                "expires_at": "x",
            },
            201,
        )

    def append(self, upload: Upload, offset: int, body: bytes) -> httpx.Response:
        if upload.status != "open":
            return problem(409, "upload_not_open")
        if offset != len(upload.data):
            return problem(409, "upload_offset_mismatch", expected_offset=len(upload.data))
        if len(body) > self.chunk_size:
            return problem(413, "chunk_too_large")
        if offset + len(body) > upload.size:
            return problem(422, "upload_past_size")
        upload.data += body
        return ok({"received": len(upload.data)})

    def finalize(self, upload: Upload) -> httpx.Response:
        if upload.status != "open":
            return problem(409, "upload_not_open")
        if len(upload.data) != upload.size:
            return problem(409, "upload_incomplete")
        digest = hashlib.sha256(upload.data).hexdigest()
        if upload.sha256 and digest != upload.sha256:
            return problem(422, "upload_hash_mismatch")
        try:
            header = age.parse_header(io.BytesIO(bytes(upload.data)))
        except age.AgeError:
            return problem(422, "bid_not_age_file")
        _, opening = self.sections[upload.section]
        claims = [s for s in header.stanzas if s.type == "tenderhall-opening-key"]
        if not claims:
            return problem(422, "bid_missing_opening_key")
        if claims[0].args != (age.opening_key_id(opening.recipient()),):
            return problem(422, "bid_wrong_opening_key")
        if sum(s.type == "X25519" for s in header.stanzas) < 2:
            return problem(422, "bid_too_few_recipients")
        upload.status = "finalized"
        receipt = self.receipt(upload.section, digest, upload.size)
        self.bids[upload.section] = {
            "status": "submitted",
            "ciphertext_sha256": digest,
            "ciphertext_size": upload.size,
            "received_at": receipt["received_at"],
            "receipt": receipt,
        }
        return ok(receipt, 201)

    # -- the receipt -----------------------------------------------------------------------------

    def receipt(self, section_id: int, digest: str, size: int) -> dict[str, Any]:
        code, _ = self.sections[section_id]
        received_at = RECEIVED_AT.isoformat().replace("+00:00", "Z")
        nonce = secrets.token_hex(32)
        facts = {
            "section": section_id,
            "bidder": self.uscc,
            "ciphertext_sha256": digest,
            "ciphertext_size": size,
            "received_at": received_at,
        }
        commitment = hashlib.sha256(bytes.fromhex(nonce) + canonical_json(facts)).hexdigest()
        index = len(self.leaves)
        event = {
            "v": 1,
            "index": index,
            "at": received_at,
            "action": "bidding.bid.submitted",
            "actor": "",
            "actor_role": "",
            "org": "",
            "source_ip": "",
            "user_agent": "",
            "object": {"type": "", "id": ""},
            "data": {"bid_commitment": commitment, "sealed": secrets.token_hex(32)},
        }
        payload = canonical_json(event)
        self.leaves.append(merkle.leaf_hash(payload))
        self.leaves.append(merkle.leaf_hash(b"someone else's event"))
        size_now = len(self.leaves)
        root = merkle.root(self.leaves).hex()
        sth = {
            "tree_size": size_now,
            "root_hash": root,
            "timestamp": received_at,
            "key_id": self.key_id,
            "signature": base64.b64encode(
                self.key.sign(f"tenderhall-sth:v1\n{size_now}\n{root}\n{received_at}\n".encode())
            ).decode(),
        }
        unsigned = {
            "format": "tenderhall-receipt/v1",
            "section": {"id": section_id, "code": code},
            "bidder": {"uscc": self.uscc, "name": self.name},
            "ciphertext_sha256": digest,
            "ciphertext_size": size,
            "received_at": received_at,
            "commitment_nonce": nonce,
            "log": {
                "index": index,
                "payload": payload.decode(),
                "leaf_hash": self.leaves[index].hex(),
                "tree_size": size_now,
                "audit_path": [h.hex() for h in merkle.inclusion_proof(index, self.leaves)],
                "signed_tree_head": sth,
            },
            "platform_key_id": self.key_id,
        }
        return self.sign(unsigned)

    def sign(self, receipt: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in receipt.items() if k != "signature"}
        return {**body, "signature": base64.b64encode(self.key.sign(canonical_json(body))).decode()}


def ok(body: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def problem(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {
        "code": code,
        "status": status,
        "message_zh": f"拒绝：{code}",
        "message_en": f"refused: {code}",
        **extra,
    }
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})
