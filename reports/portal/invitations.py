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


def _free_username(base: str) -> str:
    """``base``, or ``base-2``, ``base-3`` … when taken.

    The login is built from the cluster and the member's symbol, never from the
    e-mail address: a suffix then says nothing about accounts of other clusters.
    """
    User = get_user_model()
    candidate, n = base, 2
    while User.objects.filter(username__iexact=candidate).exists():
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def invitation_link(*, user: Any) -> str:
    path = reverse(
        "password_reset_confirm",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)},
    )
    return settings.SITE_URL.rstrip("/") + path


def _refuse_active_account(member: Member, user: Any) -> None:
    """Invitations never reach an account whose owner has set a password.

    An active account changes its e-mail only through its owner (confirmed from
    the portal, ``reports.portal.account``); re-inviting it would send a
    set-password link for someone else's account to whatever address the member
    record now holds.
    """
    if user.has_usable_password() or user.last_login is not None:
        raise ValidationError(
            _(
                "Konto w portalu dla %(name)s jest już aktywne: zaproszenie wysyła się tylko do kont bez ustawionego "
                "hasła. Członek może sam odzyskać hasło na stronie logowania, a adres e-mail konta zmienia tylko "
                "jego właściciel w portalu."
            )
            % {"name": member.name}
        )
    if user.is_staff or user.is_superuser or user.clusters.exclude(pk=member.cluster_id).exists():
        raise ValidationError(
            _("Konto powiązane z %(name)s należy do zespołu koordynatora: nie wysyła się do niego zaproszeń.")
            % {"name": member.name}
        )


@transaction.atomic
def member_invite(*, member: Member, invited_by: Any = None) -> Any:
    """Create the member's account (or reuse one never activated) and e-mail it a set-password link.

    Only accounts that have never set a password are created or activated here;
    an active account is refused with a message that reveals nothing beyond this
    member (see ``_refuse_active_account``).
    """
    member = Member.objects.select_for_update(of=("self",)).select_related("cluster", "user").get(pk=member.pk)
    user = member.user
    email = member.email.strip()
    if not email:
        raise ValidationError(
            _("Członek %(name)s nie ma adresu e-mail: uzupełnij go w rejestrze, aby wysłać zaproszenie.") % {"name": member.name}
        )
    if user is None:
        User = get_user_model()
        user = User(username=_free_username(slugify(f"{member.cluster.slug}-{member.ref}")[:140]), email=email)
        user.first_name = member.name[:150] if member.legal_form == "person" else ""
        user.set_unusable_password()
        user.save()
        member.user = user
        member.save(update_fields=["user"])
    else:
        _refuse_active_account(member, user)
        if user.email != email:
            # Not yet activated: the invitation follows the member's current address.
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
