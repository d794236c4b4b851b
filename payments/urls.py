from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    # Checkout keys (secrets.token_urlsafe) and local session ids are slugs: anything else (a NUL, a slash,
    # full-width letters) is a 404 here, before any database lookup.
    path("booking/<slug:key>/", views.booking_checkout, name="booking_checkout"),
    path("booking/<slug:key>/done/", views.booking_checkout_return, name="booking_checkout_return"),
    path("local-checkout/<slug:session_id>/", views.local_checkout, name="local_checkout"),
    path("fee/<str:token>/", views.fee, name="fee"),
]
