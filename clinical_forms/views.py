"""The client's forms, from the private link: no account, works on a phone and without JavaScript.

Pages under a link carry the token in their URL, so they load no analytics or ad tag
(privacy.cookies.page_kind) and send no referrer.
"""

from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from clinic.ratelimits import client_ip, limit

from . import services
from .forms import ClinicalForm
from .links import LinkExpired, LinkInvalid, appointment_from_token
from .models import ReportedVia
from .selectors import (
    current_version,
    draft_form,
    forms_for_visit,
    health_forms_to_sign_again,
    signed_form,
    visit_forms_complete,
    visit_forms_status,
)


def _appointment_or_page(request, token):
    try:
        return appointment_from_token(token), None
    except LinkInvalid:
        return None, render(request, "clinical_forms/link_problem.html", {"expired": False}, status=404)
    except LinkExpired:
        return None, render(request, "clinical_forms/link_problem.html", {"expired": True}, status=410)


def _index_page(request, appointment, token, *, status=200, **extra):
    rows = visit_forms_status(appointment)
    context = {
        "appointment": appointment,
        "token": token,
        "rows": rows,
        "complete": visit_forms_complete(appointment),
        # Offered while a signed history or treatment consent is being reused for this visit.
        "to_sign_again": health_forms_to_sign_again(appointment.client_id),
        "health_note": "",
        **extra,
    }
    return render(request, "clinical_forms/index.html", context, status=status)


@never_cache  # health answers and the visit: never kept by a shared or the back-forward cache
@require_http_methods(["GET"])
def index(request, token):
    appointment, problem = _appointment_or_page(request, token)
    if problem:
        return problem
    return _index_page(request, appointment, token)


@never_cache
@require_http_methods(["POST"])
@limit("appointment_change")
def health_changed(request, token):
    """ "My health has changed since I signed": the signed history and consents are signed again for this visit."""
    appointment, problem = _appointment_or_page(request, token)
    if problem:
        return problem
    note = request.POST.get("note", "")
    try:
        services.report_health_change(
            client_id=appointment.client_id, via=ReportedVia.FORMS_LINK, note=note, appointment_id=appointment.pk
        )
    except services.ClinicalRecordRefused as refusal:
        return _index_page(request, appointment, token, status=400, health_error=str(refusal), health_note=note)
    return redirect(reverse("clinical_forms:index", args=[token]) + "?health_changed=1")


def _initial(answers, version):
    return {**(answers or {}), "version_id": version.pk}


@never_cache
@require_http_methods(["GET", "POST"])
@limit("appointment_change")
def fill(request, token, slug):
    appointment, problem = _appointment_or_page(request, token)
    if problem:
        return problem
    # Any form the visit needs (a visit's one link also serves its later services' forms), as the index lists them.
    template = next((t for t in forms_for_visit(appointment) if t.slug == slug), None)
    version = current_version(template) if template else None
    if version is None:
        return render(request, "clinical_forms/link_problem.html", {"expired": False}, status=404)
    index_url = reverse("clinical_forms:index", args=[token])
    if signed_form(client_id=appointment.client_id, template=template):
        return redirect(index_url)
    notice = ""
    if request.method == "POST":
        try:
            submission, form = services.save_visit_form(
                appointment=appointment,
                template=template,
                data=request.POST,
                sign="sign" in request.POST,
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except services.VersionChanged as changed:
            version = changed.version
            typed = QueryDict(mutable=True)
            typed.update(request.POST)
            form = ClinicalForm(
                initial=_initial(ClinicalForm(typed, version=version).typed_answers(), version), version=version
            )
            notice = str(changed)
        except services.UnderageRefused as refusal:
            return render(request, "clinical_forms/refused.html", {"message": str(refusal), "token": token}, status=403)
        except services.AlreadySigned:
            return redirect(index_url)
        else:
            if submission is not None:
                return redirect(f"{index_url}?signed=1")
            if "sign" not in request.POST:
                return redirect(f"{index_url}?saved=1")
    else:
        draft = draft_form(client_id=appointment.client_id, template=template, appointment=appointment)
        answers = draft.answers if draft else {}
        if draft and draft.version_id != version.pk:
            notice = gettext("This form was updated since you started it. Please check your answers.")
        form = ClinicalForm(initial=_initial(answers, version), version=version)
    return render(
        request,
        "clinical_forms/fill.html",
        {"form": form, "version": version, "token": token, "appointment": appointment, "notice": notice},
        status=200,
    )
