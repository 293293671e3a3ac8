"""A member account's own settings: the e-mail address changes only through its owner.

The owner asks for the change with the current password; the new address gets a
signed confirmation link (``django.core.signing``, valid for
PASSWORD_RESET_TIMEOUT) and the old address a notice that says how to stop it:
changing the password cancels the pending change, because a link is bound to the
password it was asked with. So neither staff nor anyone who edits the member
record can move an active account to another mailbox. A link is also bound to the
address it replaces: once the e-mail changes, older links stop working.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

_SALT = "okeportal.account.email-change"


def _send(*, template: str, to: str, context: dict[str, Any]) -> None:
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    body = render_to_string(f"emails/{template}.txt", context)
    message = EmailMultiAlternatives(subject=subject, body=body, to=[to])
    transaction.on_commit(message.send)


def _password_mark(user: Any) -> str:
    """Binds a link to the password it was asked with: changing the password cancels a pending change."""
    return salted_hmac(_SALT, user.password or "").hexdigest()[:20]


def account_email_change_request(*, user: Any, new_email: str, password: str) -> str:
    """Check the password and send the confirmation link to ``new_email``; returns the normalised address."""
    new_email = new_email.strip()
    validate_email(new_email)
    if not user.check_password(password):
        raise ValidationError(_("Hasło jest nieprawidłowe."), code="password")
    if new_email.lower() == (user.email or "").lower():
        raise ValidationError(_("To jest już adres e-mail Twojego konta."), code="same")
    token = signing.dumps({"u": user.pk, "old": user.email or "", "new": new_email, "p": _password_mark(user)}, salt=_SALT)
    context = {
        "user": user,
        "new_email": new_email,
        "link": settings.SITE_URL.rstrip("/") + reverse("portal:email-change-confirm", kwargs={"token": token}),
        "timeout_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    _send(template="email_change_confirm", to=new_email, context=context)
    if user.email:
        _send(template="email_change_requested", to=user.email, context=context)
    return new_email


def account_email_change_token(*, token: str) -> dict[str, Any]:
    """The request behind a confirmation link, or ValidationError when it is forged, expired or used."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.SignatureExpired:
        raise ValidationError(_("Link potwierdzający wygasł: poproś o zmianę adresu jeszcze raz."), code="expired")
    except signing.BadSignature:
        raise ValidationError(_("Link potwierdzający jest nieprawidłowy."), code="invalid")
    return data


@transaction.atomic
def account_email_change_confirm(*, user: Any, token: str) -> str:
    """Apply a confirmed change for the logged-in owner; the old address is told."""
    data = account_email_change_token(token=token)
    locked = get_user_model().objects.select_for_update().get(pk=user.pk)
    if data["u"] != locked.pk:
        raise ValidationError(_("Ten link dotyczy innego konta."), code="other-user")
    if (locked.email or "") != data["old"]:
        raise ValidationError(_("Ten link został już użyty albo adres zmieniono później."), code="used")
    if data.get("p") != _password_mark(locked):
        raise ValidationError(_("Od prośby o zmianę adresu zmieniono hasło konta: link jest nieważny."), code="cancelled")
    locked.email = data["new"]
    locked.save(update_fields=["email"])
    if data["old"]:
        _send(template="email_changed", to=data["old"], context={"user": locked, "new_email": data["new"]})
    return locked.email
