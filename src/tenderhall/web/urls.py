from django.urls import path

from tenderhall.web import views

app_name = "web"
urlpatterns = [path("", views.home, name="home")]
