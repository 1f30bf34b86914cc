from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenderhall.core.transparency import latest_sth


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"sth": latest_sth()})
