from django.contrib import admin
from django.urls import include, path

from tenderhall.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("tenderhall.accounts.urls")),
    path("projects/", include("tenderhall.projects.urls")),
    path("notices/", include("tenderhall.notices.urls")),
    path("disputes/", include("tenderhall.disputes.urls")),
    path("venues/", include("tenderhall.venues.urls")),
    path("bids/", include("tenderhall.bidding.urls")),
    path("opening/", include("tenderhall.opening.urls")),
    path("experts/", include("tenderhall.experts.urls")),
    path("", include("tenderhall.core.urls")),
    path("", include("tenderhall.web.urls")),
    path("django-admin/", admin.site.urls),
]
