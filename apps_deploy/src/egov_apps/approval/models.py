from django.contrib.postgres.fields import ArrayField
from django.db import models

STATUSES = [("open", "待受理"), ("accepted", "已受理"), ("more_material", "待补正材料"),
            ("completed", "已办结（准予）"), ("rejected", "不予许可")]
ACTIVE = ("open", "accepted", "more_material")  # still running against the statutory deadline


class JointApplication(models.Model):
    """企业开办一表通: one form, fanned out to several departments in parallel."""

    uscc = models.CharField(max_length=18)
    departments = ArrayField(models.TextField())
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "joint_applications"


class Application(models.Model):
    joint = models.ForeignKey(JointApplication, null=True, on_delete=models.PROTECT)
    item_code = models.TextField()
    department = models.TextField()
    applicant_type = models.TextField(choices=[("person", "自然人"), ("entity", "法人")])
    applicant_id = models.CharField(max_length=18)
    town_id = models.TextField(null=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField()
    status = models.TextField(choices=STATUSES, default="open")
    completed_at = models.DateTimeField(null=True)
    client_ref = models.TextField(null=True, unique=True)
    # 0002 (expand only: nullable or defaulted, so the previous release keeps running beside it)
    tracking_hash = models.TextField(null=True)
    applicant_phone = models.TextField(null=True)
    note = models.TextField(default="", blank=True)
    decided_by = models.TextField(null=True)

    class Meta:
        db_table = "applications"
        ordering = ["due_at"]

    @property
    def active(self) -> bool:
        return self.status in ACTIVE
