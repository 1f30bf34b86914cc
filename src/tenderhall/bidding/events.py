"""Audit action tags of the bidding app (one enum, as Warehouse does).

Before the bid deadline nobody may learn who bid or how many did (法 Art 22, DESIGN §4), and a log
reader counting events by their action tag would learn the number of bids. So every bidding step
before the deadline is logged sealed under the one tag ``SEALED_STEP``: the real step is among the
concealed details, and every such event carries a ``bid_commitment`` — for a submission the
receipt's commitment, for any other step a blinding value that commits to nothing — so that a
submission cannot be told from a chunk, an abort or a withdrawal. Steps after the deadline are
logged openly under their own tags.
"""

from enum import StrEnum


class BiddingAction(StrEnum):
    SEALED_STEP = "bidding.sealed_step"
    UPLOAD_CREATED = "bidding.upload.created"
    UPLOAD_CHUNK_APPENDED = "bidding.upload.chunk_appended"
    UPLOAD_ABORTED = "bidding.upload.aborted"
    UPLOAD_EXPIRED = "bidding.upload.expired"
    BID_SUBMITTED = "bidding.bid.submitted"
    BID_WITHDRAWN = "bidding.bid.withdrawn"
