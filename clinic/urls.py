from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Clinic front desk"
admin.site.site_title = "Clinic admin"
admin.site.index_title = "Front desk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("privacy/", include("privacy.urls")),
    path("messaging/", include("messaging.urls")),
    path("", include("appointments.urls")),
]
