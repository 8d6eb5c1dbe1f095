from django.apps import AppConfig


class HallConfig(AppConfig):
    name = "egov_apps.hall"
    label = "hall"
    verbose_name = "网上办事大厅"
