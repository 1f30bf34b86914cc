from django.apps import AppConfig


class ExpertsConfig(AppConfig):
    name = "tenderhall.experts"
    label = "experts"
