"""Pages of the accounts app. Views parse input, call a service or selector, and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenderhall.accounts import forms, selectors, services
from tenderhall.accounts.models import User
from tenderhall.core.crypto.certs import challenge_text
from tenderhall.core.errors import DomainError
from tenderhall.core.forms import show_refusal
from tenderhall.core.permissions import Permission, has_permission, require

BACKEND = "django.contrib.auth.backends.ModelBackend"


_form_error = show_refusal


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: ``?next=`` when it stays on this site (no open redirect)."""
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("web:home")


def login_view(request: HttpRequest) -> HttpResponse:
    password_form = forms.PasswordLoginForm(
        request.POST if request.POST.get("method") == "password" else None
    )
    challenge_form = forms.ChallengeForm(request.POST if request.POST.get("method") == "challenge" else None)
    certificate_form: forms.CertificateLoginForm | None = None
    challenge = ""
    tab = request.POST.get("method", request.GET.get("tab", "password"))
    if request.method == "POST" and tab == "password" and password_form.is_valid():
        try:
            user = services.login_with_password(**password_form.cleaned_data)
        except DomainError as error:
            _form_error(password_form, error)
        else:
            login(request, user, backend=BACKEND)
            return redirect(_next_url(request))
    elif request.method == "POST" and tab == "challenge" and challenge_form.is_valid():
        issued = services.login_challenge_issue(username=challenge_form.cleaned_data["username"])
        challenge = challenge_text(issued.nonce, issued.username)
        certificate_form = forms.CertificateLoginForm(
            initial={"username": issued.username, "nonce": issued.nonce}
        )
        tab = "certificate"
    elif request.method == "POST" and tab == "certificate":
        certificate_form = forms.CertificateLoginForm(request.POST)
        if certificate_form.is_valid():
            data = certificate_form.cleaned_data
            try:
                user = services.login_with_certificate(
                    username=data["username"],
                    nonce=data["nonce"],
                    certificate_pem="",
                    signature_b64=data["signature"],
                )
            except DomainError as error:
                _form_error(certificate_form, error)
                challenge = ""
            else:
                login(request, user, backend=BACKEND)
                return redirect(_next_url(request))
    return render(
        request,
        "accounts/login.html",
        {
            "tab": "certificate" if tab in ("challenge", "certificate") else "password",
            "password_form": password_form,
            "challenge_form": challenge_form,
            "certificate_form": certificate_form,
            "challenge": challenge,
        },
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


@login_required
def security_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = forms.TotpEnrollForm(request.POST or None, initial={"secret": services.totp_new_secret()})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_enroll_totp(acting_user=user, **form.cleaned_data)
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("accounts:security")
    secret = form.data.get("secret") if form.is_bound else form.initial["secret"]
    return render(
        request,
        "accounts/security.html",
        {
            "form": form,
            "secret": secret,
            "uri": services.totp_provisioning_uri(user=user, secret=str(secret)),
        },
    )


@login_required
def organizations_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, Permission.ORGANIZATION_VIEW_ALL)
    form = forms.OrganizationForm(request.POST or None)
    if request.method == "POST":
        require(user, Permission.ORGANIZATION_CREATE)
        if form.is_valid():
            try:
                org = services.organization_register(acting_user=user, **form.cleaned_data)
            except DomainError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("Organization %(name)s registered.") % {"name": org.name})
                return redirect("accounts:organization", org.pk)
    return render(
        request,
        "accounts/organizations.html",
        {
            "organizations": selectors.organizations_for_user(user),
            "form": form,
            "can_create": has_permission(user, Permission.ORGANIZATION_CREATE),
        },
    )


@login_required
def organization_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    org = selectors.organization_for_user(user, pk)
    people = selectors.users_for_user(user).filter(organization=org)
    can_register = has_permission(user, Permission.CERTIFICATE_REGISTER) or (
        has_permission(user, Permission.CERTIFICATE_REGISTER_OWN) and user.organization_id == org.pk
    )
    if request.method == "POST" and not can_register:
        require(user, Permission.CERTIFICATE_REGISTER)  # a 403 page, not a silent reload
    form = forms.CertificateForm(request.POST or None, holders=[(p.pk, p.username) for p in people])
    if request.method == "POST" and form.is_valid():
        holder_id = form.cleaned_data["holder"]
        try:
            holder = selectors.user_for_user(user, holder_id) if holder_id else None
            services.certificate_register(
                acting_user=user,
                organization=org,
                certificate_pem=form.cleaned_data["certificate_pem"],
                holder=holder,
            )
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Certificate registered."))
            return redirect("accounts:organization", org.pk)
    return render(
        request,
        "accounts/organization.html",
        {
            "organization": org,
            "people": people,
            "certificates": selectors.certificates_for_organization(user, org.pk),
            "form": form,
            "can_register": can_register,
        },
    )


@login_required
def users_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, Permission.USER_VIEW_ALL)
    organizations = [
        (o.pk, f"{o.name} ({o.get_kind_display()})") for o in selectors.organizations_for_user(user)
    ]
    form = forms.UserForm(request.POST or None, organizations=organizations)
    if request.method == "POST":
        require(user, Permission.USER_CREATE)
        if form.is_valid():
            data = dict(form.cleaned_data)
            org_id = data.pop("organization")
            try:
                organization = selectors.organization_for_user(user, org_id) if org_id else None
                created = services.user_register(acting_user=user, organization=organization, **data)
            except DomainError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("User %(name)s registered.") % {"name": created.username})
                return redirect("accounts:users")
    return render(
        request,
        "accounts/users.html",
        {
            "users": selectors.users_for_user(user),
            "form": form,
            "can_create": has_permission(user, Permission.USER_CREATE),
        },
    )
