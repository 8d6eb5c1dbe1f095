from django.db import models


class ServiceItem(models.Model):
    """One of the hundred service items and its guide (办事指南)."""

    code = models.TextField(primary_key=True)
    name = models.TextField()
    department = models.TextField()
    deadline_days = models.IntegerField()
    fee = models.TextField()
    conditions = models.JSONField()
    materials = models.JSONField()
    steps = models.JSONField()
    views = models.BigIntegerField(default=0)

    class Meta:
        db_table = "service_items"
        ordering = ["code"]
