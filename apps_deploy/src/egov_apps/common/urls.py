"""URLs every application has; each application's urls.py adds its own pages and API."""

from django.urls import path

from egov_apps.common import views

shared = [
    path("healthz", views.healthz),
    path("version", views.version_view),
    path("staff/login/", views.StaffLogin.as_view(), name="login"),
    path("staff/logout/", views.staff_logout, name="logout"),
    path("staff/audit/", views.audit_log, name="audit"),
]
