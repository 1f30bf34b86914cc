from django.urls import path

from tenderhall.notices import views
from tenderhall.notices.feeds import NoticesFeed

app_name = "notices"
urlpatterns = [
    path("", views.portal_view, name="portal"),
    path("feed.atom", NoticesFeed(), name="feed"),
    path("<int:pk>/", views.notice_view, name="notice"),
    path("manage/", views.manage_view, name="manage"),
    path("manage/<int:pk>/", views.manage_notice_view, name="manage_notice"),
    path("sections/<int:pk>/", views.section_view, name="section"),
    path("sections/<int:pk>/documents/", views.section_upload_view, name="section_upload"),
    path("sections/<int:pk>/obtain/", views.section_obtain_view, name="section_obtain"),
    path("sections/<int:pk>/questions/", views.section_ask_view, name="section_ask"),
    path("sections/<int:pk>/clarifications/", views.section_clarify_view, name="section_clarify"),
    path("sections/<int:pk>/objections/", views.section_object_view, name="section_object"),
    path("documents/<int:pk>/download/", views.document_download_view, name="document_download"),
]
