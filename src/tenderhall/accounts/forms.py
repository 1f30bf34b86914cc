"""Forms only parse input; the services decide (DESIGN §3)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenderhall.accounts.models import OrganizationKind, Role


class PasswordLoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    totp_code = forms.CharField(label=_("Authenticator code (if enabled)"), max_length=10, required=False)


class ChallengeForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)


class CertificateLoginForm(forms.Form):
    username = forms.CharField(widget=forms.HiddenInput)
    nonce = forms.CharField(widget=forms.HiddenInput)
    signature = forms.CharField(
        label=_("Signature printed by the bidder tool"), widget=forms.Textarea(attrs={"rows": 3})
    )


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=40)
    kind = forms.ChoiceField(label=_("Kind"), choices=OrganizationKind.choices)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    contact_phone = forms.CharField(label=_("Phone"), max_length=40, required=False)


class UserForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(label=_("Name"), max_length=100, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    organization = forms.IntegerField(label=_("Organization"), required=False, widget=forms.Select)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Mobile"), max_length=40, required=False)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: object, organizations: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["organization"].widget.choices = [("", "—"), *organizations]


class CertificateForm(forms.Form):
    certificate_pem = forms.CharField(label=_("Certificate (PEM)"), widget=forms.Textarea)
    holder = forms.IntegerField(label=_("Holder"), required=False, widget=forms.Select)

    def __init__(self, *args: object, holders: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["holder"].widget.choices = [("", "—"), *holders]


class TotpEnrollForm(forms.Form):
    secret = forms.CharField(widget=forms.HiddenInput)
    code = forms.CharField(label=_("Code shown by your authenticator app"), max_length=10)
