from django.urls import path

from . import views

app_name = "clinical_forms"

urlpatterns = [
    path("forms/<str:token>/", views.index, name="index"),
    path("forms/<str:token>/report/health-changed/", views.health_changed, name="health_changed"),
    path("forms/<str:token>/<slug:slug>/", views.fill, name="fill"),
]
