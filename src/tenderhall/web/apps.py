from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "tenderhall.web"
    label = "web"
