from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("booking/<str:key>/", views.booking_checkout, name="booking_checkout"),
    path("booking/<str:key>/done/", views.booking_checkout_return, name="booking_checkout_return"),
    path("local-checkout/<str:session_id>/", views.local_checkout, name="local_checkout"),
    path("fee/<str:token>/", views.fee, name="fee"),
]
