from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "egov_apps.common"
    label = "common"
    verbose_name = "公共"

    def ready(self):
        from egov_apps.common import audit  # noqa: F401  (connects the login signals)
