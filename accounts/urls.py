from django.urls import path

from . import views

app_name = "account"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/sent/", views.sign_in_sent, name="sign_in_sent"),
    path("sign-in/code/", views.sign_in_code, name="sign_in_code"),
    path("sign-in/link/<str:token>/", views.sign_in_link, name="sign_in_link"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("sign-out/everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("visits/<int:appointment_id>/cancel/", views.visit_cancel, name="visit_cancel"),
    path("visits/<int:appointment_id>/reschedule/", views.visit_reschedule, name="visit_reschedule"),
    path("visits/<int:appointment_id>/appointment.ics", views.visit_calendar_file, name="visit_calendar_file"),
    path("join/<int:record_id>/", views.join_record, name="join_record"),
    path("consents/", views.consents, name="consents"),
    path("payments/", views.payments, name="payments"),
    path("forms/", views.forms, name="forms"),
    path("forms/health-changed/", views.forms_health_changed, name="forms_health_changed"),
    path("forms/<int:submission_id>/signed-form.pdf", views.form_pdf, name="form_pdf"),
    path("data/", views.data, name="data"),
    path("data/code/", views.data_code_send, name="data_code_send"),
    path("data/code/confirm/", views.data_code_confirm, name="data_code_confirm"),
    path("data/download/", views.data_download, name="data_download"),
    path("data/name/", views.data_name, name="data_name"),
    path("data/email/", views.data_email, name="data_email"),
    path("data/email/confirm/", views.data_email_confirm, name="data_email_confirm"),
    path("data/phone/", views.data_phone, name="data_phone"),
    path("data/phone/confirm/", views.data_phone_confirm, name="data_phone_confirm"),
    path("delete/", views.delete_account, name="delete"),
]
