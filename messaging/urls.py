from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("twilio/status/", views.twilio_status, name="twilio_status"),
    path("twilio/inbound/", views.twilio_inbound, name="twilio_inbound"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("resubscribe/<str:token>/", views.email_resubscribe, name="email_resubscribe"),
    path("confirm-offers/<str:token>/", views.email_marketing_confirm, name="email_marketing_confirm"),
    path("preferences/", views.preferences_request_link, name="preferences_request"),
    path("preferences/<str:token>/", views.preferences_view, name="preferences"),
]
