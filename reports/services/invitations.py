"""Member accounts by invitation: a user with no password and a set-password link.

The link is Django's password-reset confirmation (``PasswordResetTokenGenerator``
+ ``password_reset_confirm``): it works once, expires after
PASSWORD_RESET_TIMEOUT, and stops working as soon as a password is set.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify
from django.utils.translation import gettext as _

from members.models import Member


def _free_username(candidates: list[str]) -> str:
    User = get_user_model()
    for candidate in candidates:
        if candidate and not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    base = candidates[-1]
    n = 2
    while User.objects.filter(username__iexact=f"{base}-{n}").exists():
        n += 1
    return f"{base}-{n}"


def invitation_link(*, user: Any) -> str:
    path = reverse(
        "password_reset_confirm",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)},
    )
    return settings.SITE_URL.rstrip("/") + path


@transaction.atomic
def member_invite(*, member: Member, invited_by: Any = None) -> Any:
    """Create (or reuse) the member's account and e-mail it a set-password link.

    An existing account of someone else is never attached to the member: a
    taken username gets a suffix instead.
    """
    member = Member.objects.select_for_update(of=("self",)).select_related("cluster", "user").get(pk=member.pk)
    user = member.user
    email = (member.email or (user.email if user else "")).strip()
    if not email:
        raise ValidationError(
            _("Członek %(name)s nie ma adresu e-mail: uzupełnij go w rejestrze, aby wysłać zaproszenie.") % {"name": member.name}
        )
    if user is None:
        User = get_user_model()
        ref_name = slugify(f"{member.cluster.slug}-{member.ref}")[:150]
        user = User(username=_free_username([email.lower()[:150], ref_name]), email=email)
        user.first_name = member.name[:150] if member.legal_form == "person" else ""
        user.set_unusable_password()
        user.save()
        member.user = user
        member.save(update_fields=["user"])
    elif not user.email:
        user.email = email
        user.save(update_fields=["email"])
    context = {
        "member": member,
        "user": user,
        "cluster": member.cluster,
        "invited_by": invited_by,
        "link": invitation_link(user=user),
        "portal_url": settings.SITE_URL.rstrip("/") + reverse("portal:home"),
        "timeout_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    subject = render_to_string("emails/invitation_subject.txt", context).strip()
    body = render_to_string("emails/invitation.txt", context)
    message = EmailMultiAlternatives(subject=subject, body=body, to=[email])
    transaction.on_commit(message.send)
    return user
