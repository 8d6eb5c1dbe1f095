from django.urls import path

from egov_apps.common.urls import shared
from egov_apps.hall import api, views

urlpatterns = [
    *shared,
    path("", views.index, name="hall-index"),
    path("guide/<str:code>/", views.guide, name="hall-guide"),
    path("apply/<str:code>/", views.apply, name="hall-apply"),
    path("track/", views.track, name="hall-track"),
    path("joint/", views.joint, name="hall-joint"),
    path("items", api.items),
    path("items/<str:code>", api.guide),
]
