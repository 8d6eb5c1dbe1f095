from django.urls import path

from egov_apps.approval import api, views
from egov_apps.common.urls import shared

urlpatterns = [
    *shared,
    path("", views.landing),
    path("staff/", views.workbench, name="approval-workbench"),
    path("staff/applications/<int:id>/", views.detail, name="approval-detail"),
    path("applications", api.applications),
    path("applications/<int:id>", api.one),
    path("applications/<int:id>/complete", api.complete),
    path("applications/<int:id>/track", api.track),
    path("joint-applications", api.joint),
]
