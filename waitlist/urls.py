from django.urls import path

from . import views

app_name = "waitlist"

urlpatterns = [
    path("waitlist/<slug:location_slug>/<slug:service_slug>/", views.join, name="join"),
]
