from django.urls import path

from tenderhall.opening import views

app_name = "opening"
urlpatterns = [
    path("", views.halls_view, name="halls"),
    path("sections/<int:pk>/", views.hall_view, name="hall"),
    path("sections/<int:pk>/<slug:action>/", views.hall_action_view, name="action"),
]
