from django.db import models
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, LPad

CATEGORIES = {"咨询": 1, "求助": 3, "投诉": 5, "举报": 5, "建议": 10}  # days to answer
STATUSES = [("open", "待派单"), ("assigned", "已派单"), ("answered", "已答复"), ("closed", "已办结")]


class Ticket(models.Model):
    ticket_no = models.GeneratedField(
        expression=Concat(Value("12345-"), LPad(Cast("id", CharField()), 9, Value("0"))),
        output_field=CharField(max_length=20), db_persist=True)
    created_at = models.DateTimeField(auto_now_add=True)
    caller_phone = models.TextField()
    citizen_id = models.CharField(max_length=18, null=True)
    town_id = models.TextField()
    category = models.TextField(choices=[(c, c) for c in CATEGORIES])
    content = models.TextField()
    status = models.TextField(choices=STATUSES, default="open")
    department = models.TextField(null=True)
    due_at = models.DateTimeField()
    client_ref = models.TextField(null=True, unique=True)
    # 0002 (expand only)
    answer = models.TextField(default="", blank=True)
    satisfaction = models.SmallIntegerField(null=True)  # 1 (very dissatisfied) .. 5 (very satisfied)
    closed_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "tickets"
        ordering = ["-id"]
