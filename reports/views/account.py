"""The member's own account: e-mail change confirmed by its owner, password change in the portal's look."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from reports.portal.account import (
    account_email_change_confirm,
    account_email_change_request,
    account_email_change_token,
)


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(label=gettext_lazy("Nowy adres e-mail"))
    password = forms.CharField(label=gettext_lazy("Obecne hasło"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            email = account_email_change_request(
                user=request.user, new_email=form.cleaned_data["new_email"], password=form.cleaned_data["password"]
            )
        except ValidationError as exc:
            field = "password" if getattr(exc, "code", "") == "password" else "new_email"
            form.add_error(field, exc)
        else:
            messages.success(
                request,
                _("Wysłaliśmy link potwierdzający na %(email)s. Adres konta zmieni się po jego otwarciu.") % {"email": email},
            )
            return redirect("portal:account")
    return render(request, "portal/account/account.html", {"form": form, "portal_nav": "account"})


@login_required
@require_http_methods(["GET", "POST"])
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = account_email_change_token(token=token)
    except ValidationError as exc:
        return render(request, "portal/account/email_confirm.html", {"error": " ".join(exc.messages)}, status=400)
    if request.method == "POST":
        try:
            account_email_change_confirm(user=request.user, token=token)
        except ValidationError as exc:
            return render(request, "portal/account/email_confirm.html", {"error": " ".join(exc.messages)}, status=400)
        messages.success(request, _("Adres e-mail konta zmieniono na %(email)s.") % {"email": data["new"]})
        return redirect("portal:account")
    return render(request, "portal/account/email_confirm.html", {"new_email": data["new"]})


password_change = auth_views.PasswordChangeView.as_view(
    template_name="portal/account/password_change.html", success_url=reverse_lazy("portal:account")
)


def _password_changed(request: HttpRequest) -> HttpResponse:
    response = password_change(request)
    if request.method == "POST" and response.status_code == 302:
        messages.success(request, _("Hasło zostało zmienione."))
    return response


urlpatterns = [
    path("account/", account, name="account"),
    path("account/email/<str:token>/", email_change_confirm, name="email-change-confirm"),
    path("account/password/", login_required(_password_changed), name="password-change"),
]
