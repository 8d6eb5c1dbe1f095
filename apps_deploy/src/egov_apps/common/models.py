"""Staff roles and the audit log, shared by the four applications (each in its own database)."""

from django.conf import settings
from django.db import models


class StaffProfile(models.Model):
    """A staff member's department and role: what they may see and do.

    clerk: their department's cases; leader: their department's cases and decisions;
    supervisor: every department read-only (e-supervision, 12345 dispatch)."""

    ROLES = [("clerk", "窗口工作人员"), ("leader", "科室负责人"), ("supervisor", "监察/调度人员")]
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    department = models.CharField("部门", max_length=64)
    role = models.CharField("角色", max_length=16, choices=ROLES, default="clerk")

    def sees_all(self) -> bool:
        return self.role == "supervisor"


class AuditEntry(models.Model):
    """One staff action or refused attempt. Rows are append-only: a database trigger (migration
    0002) refuses UPDATE and DELETE for everyone, the application included."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=150, blank=True)  # user name, or '' for an anonymous visitor
    ip = models.GenericIPAddressField(null=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=16, default="ok")  # ok | refused | failed
    detail = models.TextField(blank=True)  # masked: never a full citizen ID or phone number

    class Meta:
        ordering = ["-at"]
        default_permissions = ("view",)  # no add/change/delete permission exists for anyone
