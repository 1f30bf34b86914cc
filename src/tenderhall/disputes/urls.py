from django.urls import path

from tenderhall.disputes import views

app_name = "disputes"
urlpatterns = [
    path("", views.objections_view, name="objections"),
    path("<int:pk>/", views.objection_view, name="objection"),
]
