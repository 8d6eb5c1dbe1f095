from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "egov_apps.supervision"
    label = "supervision"
    verbose_name = "电子监察"
