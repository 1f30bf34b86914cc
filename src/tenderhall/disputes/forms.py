"""Forms only parse input; the services decide (DESIGN §3)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Answer"),
        widget=forms.Textarea(attrs={"rows": 6, "data-testid": "objection-answer"}),
    )
