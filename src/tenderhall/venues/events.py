"""Audit action tags of the venues app (one enum, as Warehouse does)."""

from enum import StrEnum


class VenuesAction(StrEnum):
    ROOM_CREATED = "venues.room.created"
    ROOM_UPDATED = "venues.room.updated"
    SEATS_ADDED = "venues.seats.added"
    SEATS_REMOTE_SET = "venues.seats.remote_set"
    BOOKING_REQUESTED = "venues.booking.requested"
    BOOKING_CONFIRMED = "venues.booking.confirmed"
    BOOKING_REJECTED = "venues.booking.rejected"
    BOOKING_CHANGED = "venues.booking.changed"
    BOOKING_EXTENDED = "venues.booking.extended"
    BOOKING_CANCELLED = "venues.booking.cancelled"
