from django.urls import path

from egov_apps.common.urls import shared
from egov_apps.supervision import api, views

urlpatterns = [
    *shared,
    path("", views.landing),
    path("staff/", views.cards, name="supervision-cards"),
    path("scan", api.scan),
    path("flags", api.flags),
    path("indicators/<slug:town>", api.indicators),
]
