"""A page whose body is rendered (and cached) elsewhere, put in the site layout without rendering the layout.

The "choose a time" page is the busiest on the site. Its body comes from a
cache (appointments/slot_cache.py), and rendering base.html around it (the
header, cookie banner, footer and the context processors) then costs more than
the rest of the request. Around a given page the layout varies only by the
visitor's cookie-banner state and the script prefix, and holds three values of
its own request: the CSRF token and the page's address, twice, as the cookie
banner's "next". So each process renders the layout once per state with
markers where those values and the page's own context go, splits it at the
markers, and each request joins the pieces with its values, escaped as the
template would have escaped them.

A visitor with messages waiting, or whose accepted tags need a CSP nonce, gets
the ordinary render, as does everything under DEBUG (templates reload there).
The page template may print its context values only as they are ({{ title }}),
with no filters; the tests compare both ways of rendering in every state.
"""

import logging
import re
import secrets

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import engines
from django.template.defaultfilters import urlencode
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.html import conditional_escape

logger = logging.getLogger(__name__)

# Per process and random, so no page text or visitor input can contain it.
_MARK = f"L{secrets.token_hex(8)}"
# page_path's marker holds a "<": HTML escaping and urlencode turn it into different text, telling the two apart.
_PIECE = re.compile(rf"{_MARK}(\w+?)(&lt;|%3C)?{_MARK}")
_TAG_IDS = ("ga_measurement_id", "gtm_container_id", "meta_pixel_id")  # privacy.context_processors.tracking
_MOST_SHELLS = 32  # states are few (banner, GPC, script prefix); a proxy passing SCRIPT_NAME through must not grow this
_shells = {}


def render_in_layout(request, template_name, context):
    """render(request, template_name, context), the layout rendered once per process and visitor state."""
    if settings.DEBUG:
        return render(request, template_name, context)
    layout = {}
    for processor in engines["django"].engine.template_context_processors:
        layout.update(processor(request))
    if layout.get("messages") or any(layout.get(name) for name in _TAG_IDS):
        return render(request, template_name, context)
    tracking = layout.get("tracking") or {}
    state = (
        template_name,
        get_script_prefix(),
        bool(tracking.get("show_banner")),
        bool(tracking.get("gpc")),
        tracking.get("page"),  # which tags and referrer policy the page allows (privacy.cookies.page_kind)
        tuple(sorted(context)),
    )
    pieces = _shells.get(state)
    if pieces is None:
        if len(_shells) >= _MOST_SHELLS:
            return render(request, template_name, context)
        pieces = _shells[state] = _render_shell(request, template_name, context)
    if not pieces:  # this page cannot be filled in (logged once)
        return render(request, template_name, context)
    path = layout["page_path"]  # from the clinic context processor, worked out once
    fills = {
        "csrf_token": lambda escaping: get_token(request),  # only where the layout shows the form, as a render would
        "page_path": lambda escaping: urlencode(path) if escaping == "%3C" else path,
    }
    out = [pieces[0]]
    for name, escaping, text in zip(pieces[1::3], pieces[2::3], pieces[3::3], strict=True):
        out += (conditional_escape(fills[name](escaping) if name in fills else context[name]), text)
    return HttpResponse("".join(out))


def _render_shell(request, template_name, context):
    """The page rendered with markers for its values: [text, name, escaping, text, name, escaping, ..., text]."""
    markers = {name: f"{_MARK}{name}{_MARK}" for name in context}
    markers.update(csrf_token=f"{_MARK}csrf_token{_MARK}", page_path=f"{_MARK}page_path<{_MARK}", messages=())
    pieces = _PIECE.split(render_to_string(template_name, markers, request=request))
    if any(_MARK in piece for piece in pieces[::3]) or not set(context) <= set(pieces[1::3]):
        # A value printed through a filter cannot be filled in afterwards.
        logger.error("%s prints a page value other than as it is; it is rendered in full each time", template_name)
        return []
    return pieces


@receiver(setting_changed)
def forget_shells(**kwargs):
    """Drop this process's rendered layouts when a setting changes (tests; the layout reads settings)."""
    _shells.clear()
