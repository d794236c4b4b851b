from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("", views.policy, name="policy"),
    path("versions/<str:version>/", views.policy_version, name="policy_version"),
]
