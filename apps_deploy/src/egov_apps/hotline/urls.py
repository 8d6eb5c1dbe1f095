from django.urls import path

from egov_apps.common.urls import shared
from egov_apps.hotline import api, views

urlpatterns = [
    *shared,
    path("", views.landing),
    path("staff/", views.board, name="hotline-board"),
    path("staff/tickets/new/", views.new, name="hotline-new"),
    path("staff/tickets/<int:id>/", views.ticket, name="hotline-ticket"),
    path("tickets", api.tickets),
    path("tickets/<int:id>", api.one),
]
