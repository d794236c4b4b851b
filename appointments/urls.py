from django.urls import path

from . import views, visit_views

app_name = "appointments"

urlpatterns = [
    path("", views.home, name="home"),
    path("book/<slug:location_slug>/", views.choose_service, name="choose_service"),
    # Before the service pages: "visit" is not a service.
    path("book/<slug:location_slug>/visit/", visit_views.choose_visit, name="visit"),
    path("book/<slug:location_slug>/visit/details/", visit_views.visit_details, name="visit_details"),
    path("book/<slug:location_slug>/<slug:service_slug>/", views.choose_time, name="choose_time"),
    path("book/<slug:location_slug>/<slug:service_slug>/details/", views.booking_details, name="details"),
    path("visits/keep-together/<str:token>/", views.claim, name="claim"),
    path("appointment/<str:token>/", views.manage, name="manage"),
    path("appointment/<str:token>/cancel/", views.cancel, name="cancel"),
    path("appointment/<str:token>/reschedule/", views.reschedule, name="reschedule"),
    path("appointment/<str:token>/appointment.ics", views.appointment_calendar_file, name="calendar_file"),
    path("calendar/<str:token>/feed.ics", views.practitioner_feed, name="practitioner_feed"),
]
