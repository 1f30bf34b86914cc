"""Forms of the hall page: they parse input only; every rule is in the services."""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from tenderhall.core import clock


class MinutesForm(forms.Form):
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, initial=30)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        # One line beside its button: the hall's controls must fit on a screen during an opening.
        widget=forms.TextInput(attrs={"placeholder": _("Reason"), "aria-label": _("Reason")}),
    )


class PostponeForm(ReasonForm):
    new_time = forms.DateTimeField(
        label=_("New opening time (Beijing time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean_new_time(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["new_time"]
        if value.tzinfo is None:
            value = value.replace(tzinfo=clock.LOCAL_TZ)
        return value


class UnlockForm(forms.Form):
    """The unlock token ``tenderhall-bid unlock --print-token`` prints: the base64 file key."""

    token = forms.CharField(label=_("Unlock token"), max_length=200)

    def clean_token(self) -> bytes:
        try:
            return base64.b64decode(self.cleaned_data["token"].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise forms.ValidationError(_("The token is not base64.")) from None


class SignInForm(forms.Form):
    """A signature over the hall challenge, as ``tenderhall-bid sign-challenge`` prints it."""

    nonce = forms.CharField(max_length=64, widget=forms.HiddenInput)
    signature = forms.CharField(
        label=_("Signature"), max_length=400, widget=forms.Textarea(attrs={"rows": 2, "class": "mono"})
    )

    def clean_signature(self) -> bytes:
        try:
            return base64.b64decode(self.cleaned_data["signature"].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise forms.ValidationError(_("The signature is not base64.")) from None


class BidForm(forms.Form):
    bid = forms.IntegerField(widget=forms.HiddenInput)


class ObjectionForm(forms.Form):
    text = forms.CharField(label=_("Objection"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class AnswerForm(forms.Form):
    objection = forms.IntegerField(widget=forms.HiddenInput)
    answer = forms.CharField(label=_("Answer"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class WitnessForm(forms.Form):
    """见证记录 (seed 000 §7.3.2): what the trading centre's staff saw, and whether it was abnormal."""

    text = forms.CharField(
        label=_("Witness record"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
    abnormal = forms.BooleanField(label=_("Something abnormal happened"), required=False)
