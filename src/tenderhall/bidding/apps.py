from django.apps import AppConfig


class BiddingConfig(AppConfig):
    name = "tenderhall.bidding"
    label = "bidding"
