"""Forms only parse input; the services decide (DESIGN §3). Times typed on a page are China time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenderhall.core import clock
from tenderhall.venues.models import BookingPurpose, RoomKind


class LocalDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input read as Asia/Shanghai, whatever the server's zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> dt.datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=clock.LOCAL_TZ)
        return moment.astimezone(clock.LOCAL_TZ)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(clock.LOCAL_TZ).replace(tzinfo=None)
        return value


def _choices(items: list[tuple[int, str]], *, blank: bool) -> list[tuple[Any, str]]:
    return [("", "—"), *items] if blank else list(items)


class BookingRequestForm(forms.Form):
    room = forms.TypedChoiceField(label=_("Room"), coerce=int)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=BookingPurpose.choices)
    starts_at = LocalDateTimeField(label=_("From (China time)"))
    ends_at = LocalDateTimeField(label=_("Until (China time)"))
    seats_needed = forms.IntegerField(label=_("Seats needed"), min_value=0, max_value=32767, initial=0)
    section = forms.TypedChoiceField(
        label=_("Section (optional)"), coerce=int, required=False, empty_value=None
    )
    note = forms.CharField(label=_("Remarks"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(
        self, *args: Any, rooms: list[tuple[int, str]], sections: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].choices = _choices(rooms, blank=True)  # type: ignore[attr-defined]
        self.fields["section"].choices = _choices(sections, blank=True)  # type: ignore[attr-defined]


class ChangeForm(forms.Form):
    room = forms.TypedChoiceField(label=_("Room"), coerce=int, required=False, empty_value=None)
    starts_at = LocalDateTimeField(label=_("From (China time)"), required=False)
    ends_at = LocalDateTimeField(label=_("Until (China time)"), required=False)

    def __init__(self, *args: Any, rooms: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].choices = _choices(rooms, blank=True)  # type: ignore[attr-defined]


class ExtendForm(forms.Form):
    ends_at = LocalDateTimeField(label=_("New end (China time)"))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)


class RoomForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=RoomKind.choices)
    location = forms.CharField(label=_("Location"), max_length=200, required=False)


class RoomEditForm(RoomForm):
    is_active = forms.BooleanField(label=_("In use"), required=False)


class SeatsForm(forms.Form):
    count = forms.IntegerField(label=_("Number of seats to add"), min_value=1, max_value=200)
    label_prefix = forms.CharField(label=_("Label prefix"), max_length=4, initial="A")
    remote_evaluation = forms.BooleanField(label=_("Equipped for remote evaluation"), required=False)


class RemoteSeatsForm(forms.Form):
    remote_seats = forms.MultipleChoiceField(
        label=_("Seats equipped for remote off-site evaluation"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, labels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["remote_seats"].choices = [(label, label) for label in labels]  # type: ignore[attr-defined]
