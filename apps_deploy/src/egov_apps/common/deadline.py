"""Yellow and red cards (电子监察): red once the statutory deadline has passed, yellow when less
than YELLOW_SHARE of the allowed time (and at most a day) is left."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

YELLOW_SHARE = 0.2


def card(submitted_at: datetime | None, due_at: datetime, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if due_at <= now:
        return "red"
    allowed = (due_at - submitted_at) if submitted_at else timedelta(days=1)
    if due_at - now <= min(allowed * YELLOW_SHARE, timedelta(days=1)) or due_at - now <= timedelta(hours=4):
        return "yellow"
    return "green"


def remaining(due_at: datetime, now: datetime | None = None) -> str:
    delta = due_at - (now or timezone.now())
    sign = "" if delta.total_seconds() >= 0 else "超期 "
    s = abs(int(delta.total_seconds()))
    days, hours = s // 86400, (s % 86400) // 3600
    return f"{sign}{days} 天 {hours} 小时" if days else f"{sign}{hours} 小时 {(s % 3600) // 60} 分"
