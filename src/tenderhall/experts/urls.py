from __future__ import annotations

from tenderhall.experts.views import committee, extraction, registry

app_name = "experts"
urlpatterns = [*registry.urlpatterns, *extraction.urlpatterns, *committee.urlpatterns]
