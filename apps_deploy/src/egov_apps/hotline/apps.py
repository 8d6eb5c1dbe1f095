from django.apps import AppConfig


class HotlineConfig(AppConfig):
    name = "egov_apps.hotline"
    label = "hotline"
    verbose_name = "12345热线"
