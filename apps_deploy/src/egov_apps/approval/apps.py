from django.apps import AppConfig


class ApprovalConfig(AppConfig):
    name = "egov_apps.approval"
    label = "approval"
    verbose_name = "一站式审批"
