from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("", views.policy, name="policy"),
    path("versions/<str:version>/", views.policy_version, name="policy_version"),
    path("cookies/", views.cookie_choice, name="cookie_choice"),
    path("cookies/settings/", views.cookie_settings, name="cookie_settings"),
    path("choices/", views.privacy_choices, name="choices"),
    path("requests/", views.request_form, name="request_form"),
    path("requests/verify/<str:token>/", views.request_verify, name="request_verify"),
    path("requests/code/", views.request_code, name="request_code"),
    path("requests/code/new/", views.request_code_new, name="request_code_new"),
    path("requests/download/<str:token>/", views.request_download, name="request_download"),
]
