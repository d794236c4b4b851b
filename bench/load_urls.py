"""URLconf for bench/load.py only: the product's URLs plus a trivial view as the floor.

/bench/floor/ answers "ok" through the full middleware stack with no database,
template or cache work, so it measures what gunicorn + Django cost per request
on this machine. It exists only when bench/load_settings.py is the settings
module; the product's own URLconf (clinic/urls.py) never serves it.
"""

from django.http import HttpResponse
from django.urls import include, path


def floor(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor, name="bench_floor"),
    path("", include("clinic.urls")),
]
