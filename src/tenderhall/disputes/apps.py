from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "tenderhall.disputes"
    label = "disputes"
