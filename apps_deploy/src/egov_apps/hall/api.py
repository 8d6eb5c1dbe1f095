"""The service hall's JSON API: the hundred items and their guides."""

from django.db.models import F

from egov_apps.common.api import ApiError, endpoint
from egov_apps.hall.models import ServiceItem

FIELDS = ["code", "name", "department", "deadline_days", "fee"]


@endpoint("GET")
def items(request):
    qs = ServiceItem.objects.all()
    if request.GET.get("department"):
        qs = qs.filter(department=request.GET["department"])
    rows = list(qs.values(*FIELDS))
    return {"count": len(rows), "items": rows}


@endpoint("GET")
def guide(request, code: str):
    row = ServiceItem.objects.filter(code=code).values().first()
    if not row:
        raise ApiError(404, "no such service item")
    ServiceItem.objects.filter(code=code).update(views=F("views") + 1)
    return row
