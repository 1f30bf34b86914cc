from django.urls import path

from tenderhall.projects import views

app_name = "projects"
urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.project_new, name="new"),
    path("checklist/", views.checklist_edit, name="checklist"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/edit/", views.project_edit, name="edit"),
    path("<int:pk>/documents/", views.project_upload, name="upload"),
    path("<int:pk>/documents/<int:doc_pk>/", views.document_download, name="document"),
    path("<int:pk>/submit/", views.project_submit, name="submit"),
    path("<int:pk>/return/", views.project_return, name="return"),
    path("<int:pk>/confirm/", views.project_confirm, name="confirm"),
]
