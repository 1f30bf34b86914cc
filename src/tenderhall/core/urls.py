from django.urls import path

from tenderhall.core import views

app_name = "core"
urlpatterns = [
    path("audit/", views.audit_view, name="audit"),
    path("audit/events/<int:index>/", views.audit_event_view, name="audit_event"),
    path("log/", views.log_head_view, name="log_head"),
    path("calendar/<int:year>/", views.calendar_view, name="calendar"),
    path("notifications/", views.notifications_view, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read_view, name="notification_read"),
]
