from django.contrib import admin
from django.urls import include, path

from .health import healthz
from .ratelimits import limit
from .views import staff_two_factor

admin.site.site_header = "Clinic front desk"
admin.site.site_title = "Clinic admin"
admin.site.index_title = "Front desk"
# Sign-in attempts are rate limited per IP; django-axes locks out repeated failures.
admin.site.login = limit("admin_login")(admin.site.login)

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("staff/two-step/", staff_two_factor, name="staff_two_factor"),
    path("admin/", admin.site.urls),
    # The language chooser posts here (Django's set_language; the choice is kept in a cookie).
    path("i18n/", include("django.conf.urls.i18n")),
    path("privacy/", include("privacy.urls")),
    path("messaging/", include("messaging.urls")),
    path("payments/", include("payments.urls")),
    path("account/", include("accounts.urls")),
    path("", include("clinical_forms.urls")),
    path("", include("waitlist.urls")),
    path("", include("appointments.urls")),
]

handler500 = "clinic.views.server_error"
