from django.apps import AppConfig


class VenuesConfig(AppConfig):
    name = "tenderhall.venues"
    label = "venues"
