from django.db import models


class Flag(models.Model):
    """A red card kept: an approval found past its statutory deadline (first seen at flagged_at)."""

    application_id = models.BigIntegerField(primary_key=True)
    department = models.TextField()
    due_at = models.DateTimeField()
    flagged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "flags"
