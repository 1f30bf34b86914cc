from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "tenderhall.notices"
    label = "notices"
