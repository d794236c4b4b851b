from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("", views.policy, name="policy"),
    path("versions/<str:version>/", views.policy_version, name="policy_version"),
    path("cookies/", views.cookie_choice, name="cookie_choice"),
    path("cookies/settings/", views.cookie_settings, name="cookie_settings"),
    path("choices/", views.privacy_choices, name="choices"),
]
