from django.urls import path

from tenderhall.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("security/", views.security_view, name="security"),
    path("organizations/", views.organizations_view, name="organizations"),
    path("organizations/<int:pk>/", views.organization_view, name="organization"),
    path("users/", views.users_view, name="users"),
]
