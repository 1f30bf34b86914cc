from django.apps import AppConfig


class OpeningConfig(AppConfig):
    name = "tenderhall.opening"
    label = "opening"
