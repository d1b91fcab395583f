import os
import time

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from hello.version import VERSION

from pages.models import Visit


def _release() -> str:
    return os.environ.get("SHIPSTATE_RELEASE") or settings.BASE_DIR.name


def home(request):
    Visit.objects.create(release=_release())
    return HttpResponse(
        f"<!doctype html><link rel=stylesheet href='{settings.STATIC_URL}pages/style.css'>"
        f"<h1>hello version {VERSION}</h1>"
        f"<p id=release>release {_release()}</p>"
        f"<p>visits: {Visit.objects.count()}</p>"
    )


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse(
        {
            "ok": True,
            "version": VERSION,
            "release": _release(),
            "greeting": os.environ.get("GREETING", ""),
        }
    )


def slow(request, seconds):
    """Answers after `seconds`: a request longer than the app's `timeout` is cut."""
    time.sleep(seconds)
    return HttpResponse(f"slept {seconds}s")
