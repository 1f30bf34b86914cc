"""Forms of the bidding pages. None of them takes a bid file: bids are sealed on the bidder's
computer and sent by the bidder tool (the browser never sees plaintext)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I withdraw our bid: its ciphertext is deleted and it will not be opened."),
        required=True,
    )
