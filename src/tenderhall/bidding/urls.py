from django.urls import path

from tenderhall.bidding import views

app_name = "bidding"
urlpatterns = [
    path("", views.my_sections_view, name="my_sections"),
    path("sections/<int:pk>/", views.section_bid_view, name="section"),
    path("sections/<int:pk>/withdraw/", views.section_withdraw_view, name="withdraw"),
    path("sections/<int:pk>/evidence/", views.evidence_view, name="evidence"),
    path("<int:pk>/receipt.json", views.receipt_download_view, name="receipt"),
]
