"""Shared views: health and version (for deploys and the fronts), staff login with password +
TOTP, logout, and the pages for a forged CSRF token and a locked account (both audited)."""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.db import connections
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.forms import OTPAuthenticationForm

from egov_apps.common import audit

HEALTH_DBS = {"hall": ["default", "population", "legal_entities"],
              "approval": ["default", "population", "legal_entities"],
              "hotline": ["default", "population"], "supervision": ["default", "macro_economy"]}


def version() -> str:
    return os.environ.get("EGOV_APP_VERSION", "dev")


def health_dbs() -> list[str]:
    """The databases /healthz checks: EGOV_HEALTH_DBS (comma-separated aliases) or the app's own list."""
    env = os.environ.get("EGOV_HEALTH_DBS")
    return env.split(",") if env else HEALTH_DBS.get(settings.APP_LABEL, ["default"])


def healthz(request):
    checks, ok = {}, True
    for alias in health_dbs():
        name = "app" if alias == "default" else alias
        t = time.monotonic()
        try:
            with connections[alias].cursor() as cur:
                cur.execute("SELECT pg_is_in_recovery()")
                ro = cur.fetchone()[0]
            checks[name] = {"ok": not (alias == "default" and ro), "read_only": ro,
                            "ms": round((time.monotonic() - t) * 1000, 1)}
            ok &= checks[name]["ok"]
        except Exception as e:  # the health check reports, never raises
            ok = False
            checks[name] = {"ok": False, "error": (str(e).strip().splitlines() or [type(e).__name__])[0][:200]}
            try:
                connections[alias].close()
            except Exception:
                pass
    body = {"status": "ok" if ok else "failing", "app": settings.APP_ID, "version": version(),
            "site": os.environ.get("EGOV_SITE"), "host": os.environ.get("EGOV_HOST"), "db": checks}
    return JsonResponse(body, status=200 if ok else 503, json_dumps_params={"ensure_ascii": False})


def version_view(request):
    return JsonResponse({"app": settings.APP_ID, "version": version()})


class PasswordAndTotpForm(OTPAuthenticationForm):
    """One page, no JavaScript: the staff member's own confirmed TOTP device is the one checked."""

    def _chosen_device(self, user):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        return super()._chosen_device(user) or TOTPDevice.objects.filter(user=user, confirmed=True).first()


class StaffLogin(LoginView):
    """Password and the current TOTP code, on one form (django-otp); django-axes counts failures."""

    template_name = "common/login.html"
    authentication_form = PasswordAndTotpForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        if form.get_user() is not None:  # the password was right, the second factor was not
            audit.record(self.request, "login", outcome="refused", actor=form.get_user().get_username(),
                         detail="wrong or missing TOTP code")
        return super().form_invalid(form)


@require_POST
def staff_logout(request):
    logout(request)
    return redirect("/")


def message(request, title: str, text: str, status: int):
    return render(request, "common/error.html", {"title": title, "message": text}, status=status)


def csrf_failure(request, reason=""):
    audit.record(request, "csrf", request.path, outcome="refused", detail=reason)
    return message(request, "请求已拒绝",
                   "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重新提交。", 403)


@never_cache
def locked_out(request, original_response=None, credentials=None, *args, **kwargs):
    """django-axes' lockout answer (called as (request, original_response, credentials))."""
    user = (credentials or {}).get("username", "") if isinstance(credentials, dict) else ""
    user = user or request.POST.get("username", "")
    audit.record(request, "login", outcome="refused", actor=str(user)[:150],
                 detail="account locked (too many failures)")
    minutes = int(settings.AXES_COOLOFF_TIME * 60)
    return message(request, "账号已锁定", f"登录失败次数过多，账号已锁定 {minutes} 分钟，请稍后再试或联系管理员。", 429)


def forbidden(request, what: str, target: str = ""):
    audit.record(request, what, target, outcome="refused", detail="outside the staff member's department")
    return message(request, "无权访问",
                   "该事项不属于您所在部门，访问已被拒绝并记录。", 403)


def bad_request(request, text: str, what: str = "form", target: str = ""):
    audit.record(request, what, target, outcome="refused", detail=text)
    return message(request, "提交有误", text, 400)


def audit_log(request):
    """The latest audit entries, read-only, for supervisors and leaders (clerks: 403, audited)."""
    from egov_apps.common.models import AuditEntry
    from egov_apps.common.staff import staff_required

    @staff_required
    def view(request):
        if request.user.staff.role not in ("supervisor", "leader"):
            audit.record(request, "audit.view", outcome="refused", detail="role may not read the audit log")
            return message(request, "无权访问", "只有科室负责人和监察人员可以查看审计日志。", 403)
        entries = AuditEntry.objects.all()
        if request.user.staff.role == "leader":
            entries = entries.filter(actor__in=_department_users(request.user.staff.department))
        return render(request, "common/audit.html", {"entries": entries[:200]})

    return view(request)


def _department_users(department: str) -> list[str]:
    from egov_apps.common.models import StaffProfile

    return list(StaffProfile.objects.filter(department=department).values_list("user__username", flat=True))
