"""The section opening key (DESIGN §4): derivation, k-of-n Shamir shares, sealing, checked recombination."""

from __future__ import annotations

import hashlib
import itertools
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.core.crypto import age
from tenderhall.core.errors import DomainError
from tenderhall.notices.opening_key import (
    SEED_BYTES,
    check_recipient,
    combine_shares,
    commit_shares,
    derive_identity,
    derive_private_key,
    new_seed,
    open_share,
    recipient_for,
    seal_share,
    share_hash,
    split_seed,
)

SEED = bytes(range(16))
seeds = st.binary(min_size=SEED_BYTES, max_size=SEED_BYTES)


def _flip(share: bytes, at: int = 0) -> bytes:
    return share[:at] + bytes([share[at] ^ 0x01]) + share[at + 1 :]


# -- derivation ----------------------------------------------------------------------------------------


def test_new_seed_is_random_16_bytes() -> None:
    a, b = new_seed(), new_seed()
    assert len(a) == len(b) == SEED_BYTES
    assert a != b


def test_derivation_is_hkdf_bound_to_the_section() -> None:
    expected = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"", info=b"tenderhall/opening-key/v1/section/7"
    ).derive(SEED)
    assert derive_private_key(SEED, section_id=7).private_bytes_raw() == expected
    assert recipient_for(SEED, section_id=7) == str(derive_identity(SEED, section_id=7).recipient())
    assert recipient_for(SEED, section_id=7).startswith("age1")
    assert recipient_for(SEED, section_id=7) != recipient_for(SEED, section_id=8)
    assert recipient_for(SEED, section_id=7) == recipient_for(bytes(SEED), section_id=7)  # deterministic


@pytest.mark.parametrize(
    ("seed", "section_id"),
    [(b"short", 1), (bytes(17), 1), (SEED, 0), (SEED, -3), (SEED, True)],
)
def test_bad_seed_or_section_refused(seed: bytes, section_id: int) -> None:
    with pytest.raises(DomainError) as caught:
        derive_private_key(seed, section_id=section_id)
    assert caught.value.code in {"opening_key_seed_invalid", "opening_key_section_invalid"}


def test_derived_identity_decrypts_its_section_only() -> None:
    blob = age.encrypt_bytes([age.X25519Recipient.from_string(recipient_for(SEED, section_id=7))], b"bid")
    assert age.decrypt_bytes([derive_identity(SEED, section_id=7)], blob) == b"bid"
    with pytest.raises(age.AgeError) as caught:
        age.decrypt_bytes([derive_identity(SEED, section_id=8)], blob)
    assert caught.value.code == "age_no_identity_matched"


def test_check_recipient() -> None:
    check_recipient(SEED, section_id=7, recipient=recipient_for(SEED, section_id=7))
    with pytest.raises(DomainError) as caught:
        check_recipient(SEED, section_id=7, recipient=recipient_for(SEED, section_id=8))
    assert caught.value.code == "opening_key_mismatch"


# -- split and combine ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "n"), [(2, 3), (3, 5)])
def test_every_k_subset_combines_and_k_minus_one_is_refused(k: int, n: int) -> None:
    shares = split_seed(SEED, k=k, n=n)
    assert [i for i, _ in shares] == list(range(1, n + 1))
    committed = commit_shares(shares)
    for subset in itertools.combinations(shares, k):
        assert combine_shares(list(subset), k=k, committed=committed) == SEED
    assert combine_shares(shares, k=k, committed=committed) == SEED  # more than k is fine
    for subset in itertools.combinations(shares, k - 1):
        with pytest.raises(DomainError) as caught:
            combine_shares(list(subset), k=k, committed=committed)
        assert caught.value.code == "opening_key_too_few_shares"
        assert caught.value.status == 422
        assert str(k) in caught.value.message_zh and str(k) in caught.value.message_en


@pytest.mark.parametrize(("k", "n"), [(1, 3), (4, 3), (2, 256), (0, 0)])
def test_bad_threshold_refused(k: int, n: int) -> None:
    with pytest.raises(DomainError) as caught:
        split_seed(SEED, k=k, n=n)
    assert caught.value.code == "opening_key_threshold_invalid"


def test_corrupted_share_detected_before_combining() -> None:
    shares = split_seed(SEED, k=2, n=3)
    committed = commit_shares(shares)
    for at in (0, 7, 15):
        bad = [(shares[0][0], _flip(shares[0][1], at)), shares[1]]
        with pytest.raises(DomainError) as caught:
            combine_shares(bad, k=2, committed=committed)
        assert caught.value.code == "opening_key_share_corrupt"
        assert caught.value.extra == {"index": 1}
        assert "1" in caught.value.message_zh and "share 1" in caught.value.message_en


def test_share_of_another_sections_key_refused() -> None:
    mine = split_seed(SEED, k=2, n=3)
    other = split_seed(os.urandom(16), k=2, n=3)
    committed = commit_shares(mine)
    with pytest.raises(DomainError) as caught:
        combine_shares([mine[0], other[1]], k=2, committed=committed)
    assert caught.value.code == "opening_key_share_corrupt"
    assert caught.value.extra == {"index": 2}


def test_uncommitted_index_refused() -> None:
    shares = split_seed(SEED, k=2, n=3)
    committed = commit_shares(shares[:2])
    with pytest.raises(DomainError) as caught:
        combine_shares([shares[0], shares[2]], k=2, committed=committed)
    assert caught.value.code == "opening_key_share_uncommitted"
    assert caught.value.extra == {"index": 3}


def test_duplicate_index_refused() -> None:
    shares = split_seed(SEED, k=2, n=3)
    with pytest.raises(DomainError) as caught:
        combine_shares([shares[0], shares[0]], k=2, committed=commit_shares(shares))
    assert caught.value.code == "opening_key_share_duplicate"


@pytest.mark.parametrize("share", [(0, bytes(16)), (256, bytes(16)), (1, bytes(15)), (1, bytes(17))])
def test_malformed_share_refused(share: tuple[int, bytes]) -> None:
    with pytest.raises(DomainError) as caught:
        combine_shares([share, (2, bytes(16))], k=2, committed={})
    assert caught.value.code == "opening_key_share_invalid"


def test_share_hash_is_domain_separated_sha256() -> None:
    share = bytes(range(100, 116))
    assert (
        share_hash(3, share)
        == hashlib.sha256(b"tenderhall/opening-key-share/v1" + b"\x03" + share).hexdigest()
    )
    assert share_hash(3, share) != share_hash(4, share)


# -- sealing to custodians ------------------------------------------------------------------------------


def test_seal_and_open_share() -> None:
    custodian, stranger = age.generate_identity(), age.generate_identity()
    index, share = split_seed(SEED, k=2, n=3)[1]
    blob = seal_share(index, share, custodian.recipient())
    assert blob.startswith(b"age-encryption.org/v1\n")
    assert share not in blob
    assert open_share(blob, custodian) == (index, share)
    with pytest.raises(age.AgeError):
        open_share(blob, stranger)


def test_open_share_refuses_a_foreign_payload() -> None:
    custodian = age.generate_identity()
    blob = age.encrypt_bytes([custodian.recipient()], b"\x02\x01" + bytes(16))  # unknown version
    with pytest.raises(DomainError) as caught:
        open_share(blob, custodian)
    assert caught.value.code == "opening_key_share_invalid"


# -- end to end: a sealed bid opened by k custodians ---------------------------------------------------


@pytest.mark.parametrize(("k", "n"), [(2, 3), (3, 5)])
def test_bid_opened_by_k_custodians(k: int, n: int) -> None:
    section_id = 42
    seed = new_seed()
    opening_recipient = age.X25519Recipient.from_string(recipient_for(seed, section_id=section_id))
    custodians = [age.generate_identity() for _ in range(n)]
    shares = split_seed(seed, k=k, n=n)
    committed = commit_shares(shares)  # what the transparency log holds
    sealed = [seal_share(i, s, c.recipient()) for (i, s), c in zip(shares, custodians, strict=True)]
    del seed, shares  # never stored

    bidder = age.generate_identity()
    bid = os.urandom(1000)
    envelope = age.encrypt_bytes([bidder.recipient(), opening_recipient], bid)
    assert age.decrypt_bytes([bidder], envelope) == bid
    with pytest.raises(age.AgeError):  # staff, a DBA, one custodian: no opening key
        age.decrypt_bytes([age.generate_identity(), *custodians], envelope)

    # k - 1 custodians: refused, the envelope stays sealed.
    few = [open_share(blob, c) for blob, c in zip(sealed[: k - 1], custodians[: k - 1], strict=True)]
    with pytest.raises(DomainError):
        combine_shares(few, k=k, committed=committed)

    # The last k custodians open their shares; the recombined seed gives the opening identity.
    opened = [open_share(blob, c) for blob, c in zip(sealed[-k:], custodians[-k:], strict=True)]
    recovered = combine_shares(opened, k=k, committed=committed)
    check_recipient(recovered, section_id=section_id, recipient=str(opening_recipient))
    assert age.decrypt_bytes([derive_identity(recovered, section_id=section_id)], envelope) == bid


@settings(max_examples=50)
@given(seed=seeds, k=st.integers(2, 5), extra=st.integers(0, 3), data=st.data())
def test_any_k_shares_recover_any_seed(seed: bytes, k: int, extra: int, data: st.DataObject) -> None:
    n = k + extra
    shares = split_seed(seed, k=k, n=n)
    committed = commit_shares(shares)
    chosen = data.draw(st.lists(st.sampled_from(shares), min_size=k, max_size=n, unique=True))
    assert combine_shares(chosen, k=k, committed=committed) == seed
    with pytest.raises(DomainError):
        combine_shares(chosen[: k - 1], k=k, committed=committed)


@settings(max_examples=30)
@given(seed=seeds, at=st.integers(0, 15), bit=st.integers(0, 7))
def test_any_single_bit_flip_is_detected(seed: bytes, at: int, bit: int) -> None:
    shares = split_seed(seed, k=2, n=3)
    committed = commit_shares(shares)
    index, share = shares[0]
    flipped = share[:at] + bytes([share[at] ^ (1 << bit)]) + share[at + 1 :]
    with pytest.raises(DomainError) as caught:
        combine_shares([(index, flipped), shares[1]], k=2, committed=committed)
    assert caught.value.code == "opening_key_share_corrupt"


@settings(max_examples=20)
@given(seed=seeds, section_id=st.integers(1, 2**31))
def test_derived_identity_matches_recipient(seed: bytes, section_id: int) -> None:
    identity = derive_identity(seed, section_id=section_id)
    blob = age.encrypt_bytes(
        [age.X25519Recipient.from_string(recipient_for(seed, section_id=section_id))], seed
    )
    assert age.decrypt_bytes([identity], blob) == seed
