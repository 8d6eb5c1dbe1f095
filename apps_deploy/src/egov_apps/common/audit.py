"""The audit log: `record(request, action, ...)` for every staff action and every refused
attempt; failed and successful logins are recorded from Django's signals. Details pass
through `mask` first: no full citizen ID or phone number ever reaches the log."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from egov_apps.common.masking import mask_text


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def record(request, action: str, target: str = "", *, outcome: str = "ok", detail: str = "", actor: str | None = None):
    from egov_apps.common.models import AuditEntry

    if actor is None:
        user = getattr(request, "user", None)
        actor = user.get_username() if user is not None and user.is_authenticated else ""
    return AuditEntry.objects.create(actor=actor[:150], ip=_ip(request), action=action, target=mask_text(target)[:200],
                                     outcome=outcome, detail=mask_text(detail)[:2000])


@receiver(user_login_failed)
def _failed(sender, credentials, request=None, **kw):
    record(request, "login", outcome="refused", actor=str(credentials.get("username", ""))[:150],
           detail="wrong password or unknown user")


@receiver(user_logged_in)
def _in(sender, request, user, **kw):
    record(request, "login", actor=user.get_username(), detail="password + TOTP")


@receiver(user_logged_out)
def _out(sender, request, user, **kw):
    if user is not None:
        record(request, "logout", actor=user.get_username())
