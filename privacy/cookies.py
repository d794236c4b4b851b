"""The cookie layer: what a visitor allowed, and recording each choice in the consent ledger.

django-cookie-consent keeps the choice in its cookie; this module adds what the
clinic's policies require on top: nothing optional before a choice, Global
Privacy Control and "Do Not Sell or Share" forcing marketing off, and every
choice written to the ledger with the banner's wording.
"""

import secrets

from cookie_consent.conf import settings as consent_settings
from cookie_consent.util import (
    get_cookie_dict_from_request,
    get_cookie_groups,
    get_cookie_value_from_request,
    set_cookie_dict_to_response,
)
from django.conf import settings
from django.urls import Resolver404, resolve

from clinic.ratelimits import client_ip

from .models import ConsentActor, ConsentPurpose, ConsentSource
from .notices import cookie_banner_text
from .services import record_consent

PREFERENCES, ANALYTICS, MARKETING = "preferences", "analytics", "marketing"
OPTIONAL_GROUPS = (PREFERENCES, ANALYTICS, MARKETING)
PURPOSE_OF_GROUP = {
    PREFERENCES: ConsentPurpose.COOKIES_PREFERENCES,
    ANALYTICS: ConsentPurpose.COOKIES_ANALYTICS,
    MARKETING: ConsentPurpose.COOKIES_MARKETING,
}
VISITOR_COOKIE = "visitor_id"
DO_NOT_SELL_COOKIE = "privacy_opt_out"
ONE_YEAR = 365 * 24 * 3600


def gpc_signal(request):
    return request.headers.get("Sec-GPC", "").strip() == "1"


def opted_out_of_sale(request):
    return request.COOKIES.get(DO_NOT_SELL_COOKIE) == "1"


# Pages no analytics or ad tag ever sees, and that send no referrer, whatever the visitor accepted:
# - private: a privacy request, a page reached by a personal link (appointment, preferences, unsubscribe),
#   or the cookie settings (their ?next= names the page they came from);
# - treatment: the page names the treatment being booked (health data under California's CMIA; FTC and
#   HHS guidance on tracking pixels). Its address and title hold the treatment, so no tag runs there at all,
#   not even analytics with the path scrubbed: nothing to get wrong.
PRIVATE_PAGES = frozenset(
    {
        "privacy:request_form",
        "privacy:request_verify",
        "privacy:request_code",
        "privacy:request_code_new",
        "privacy:request_download",
        "appointments:manage",
        "appointments:cancel",
        "appointments:reschedule",
        "appointments:calendar_file",
        "appointments:practitioner_feed",
        "messaging:preferences_request",
        "messaging:preferences",
        "messaging:unsubscribe",
        # The cookie settings carry the page they came from in ?next= (a treatment, a personal link's token).
        "privacy:cookie_settings",
        "privacy:cookie_choice",
        # The payment step's address holds the checkout's key (the client's only handle) and names the treatment.
        "payments:booking_checkout",
        "payments:booking_checkout_return",
        "payments:local_checkout",
    }
)
# Pages naming the treatments chosen, as a service's own booking pages (whose URL names one): no tag.
TREATMENT_PAGES = frozenset({"appointments:visit", "appointments:visit_details"})
# Every page of these URL namespaces is private (a signed-in client's own pages).
PRIVATE_NAMESPACES = frozenset({"account"})
PUBLIC, PRIVATE, TREATMENT = "public", "private", "treatment"


def page_kind(request) -> str:
    """PRIVATE, TREATMENT or PUBLIC, from the page's URL pattern (its name and whether it names a service)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            # A mistyped address may still hold a personal link's token or a treatment: a "not found"
            # page has nothing worth measuring, so it gets no tag and sends no referrer.
            return PRIVATE
    if match.view_name in PRIVATE_PAGES or match.namespace in PRIVATE_NAMESPACES or "token" in match.kwargs:
        return PRIVATE
    if "service_slug" in match.kwargs or match.view_name in TREATMENT_PAGES:
        return TREATMENT
    return PUBLIC


def is_sensitive_page(request) -> bool:
    return page_kind(request) != PUBLIC


def tracking_state(request):
    """What this response may load. Unknown or declined means no. Worked out once per request."""
    state = getattr(request, "_tracking_state", None)
    if state is None:
        state = request._tracking_state = _tracking_state(request)
    return state


def tags_configured() -> bool:
    """Whether any analytics or advertising tag is set up: with none, the banner has nothing to ask."""
    return any((settings.GA_MEASUREMENT_ID, settings.GTM_CONTAINER_ID, settings.META_PIXEL_ID))


def _tracking_state(request):
    chosen = {group: get_cookie_value_from_request(request, group) for group in OPTIONAL_GROUPS}
    marketing_blocked = gpc_signal(request) or opted_out_of_sale(request)
    page = page_kind(request)
    return {
        "show_banner": tags_configured() and any(value is None for value in chosen.values()),
        "preferences": chosen[PREFERENCES] is True,
        "analytics": chosen[ANALYTICS] is True and page == PUBLIC,
        "marketing": chosen[MARKETING] is True and not marketing_blocked and page == PUBLIC,
        "page": page,
        "no_referrer": page != PUBLIC,
        "gpc": gpc_signal(request),
        "do_not_sell": opted_out_of_sale(request),
        "chosen": chosen,
    }


def _store_choice(request, response, *, accepted, declined):
    """Write django-cookie-consent's cookie once, and delete the declined groups' cookies."""
    groups = {group.varname: group for group in get_cookie_groups()}
    choice = get_cookie_dict_from_request(request)
    for name in accepted & groups.keys():
        choice[name] = groups[name].get_version()
    for name in declined & groups.keys():
        choice[name] = consent_settings.COOKIE_CONSENT_DECLINE
        if groups[name].is_deletable:
            for cookie in groups[name].cookie_set.all():
                response.delete_cookie(cookie.name, cookie.path, cookie.domain or None)
    set_cookie_dict_to_response(response, choice)


def visitor_id(request) -> str:
    """This browser's visitor id, if it has a well-formed one (read only)."""
    visitor = request.COOKIES.get(VISITOR_COOKIE, "")
    return visitor if visitor.isalnum() and 16 <= len(visitor) <= 64 else ""


def _visitor_id(request, response):
    visitor = request.COOKIES.get(VISITOR_COOKIE, "")
    if not (visitor.isalnum() and 16 <= len(visitor) <= 64):
        visitor = secrets.token_hex(16)
    # Necessary: it ties this browser's consent records together, nothing else.
    response.set_cookie(
        VISITOR_COOKIE, visitor, max_age=ONE_YEAR, httponly=True, secure=not settings.DEBUG, samesite="Lax"
    )
    return visitor


def apply_cookie_choice(*, request, response, accepted, source=ConsentSource.COOKIE_BANNER):
    """Accept the named optional groups, decline the rest, and record every group in the ledger."""
    accepted = set(accepted) & set(OPTIONAL_GROUPS)
    forced_off = gpc_signal(request) or opted_out_of_sale(request)
    if forced_off:
        accepted.discard(MARKETING)
    _store_choice(request, response, accepted=accepted, declined=set(OPTIONAL_GROUPS) - accepted)
    visitor = _visitor_id(request, response)
    for group in OPTIONAL_GROUPS:
        record_consent(
            visitor_id=visitor,
            purpose=PURPOSE_OF_GROUP[group],
            granted=group in accepted,
            notice_text=cookie_banner_text(group),
            source=ConsentSource.GPC_SIGNAL if group == MARKETING and gpc_signal(request) else source,
            actor=ConsentActor.CLIENT,
            ip_address=client_ip(request) or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    return accepted


def opt_out_of_sale_and_sharing(*, request, response):
    """'Do Not Sell or Share': marketing cookies off for good on this browser, recorded."""
    _store_choice(request, response, accepted=set(), declined={MARKETING})
    response.set_cookie(
        DO_NOT_SELL_COOKIE, "1", max_age=ONE_YEAR, httponly=True, secure=not settings.DEBUG, samesite="Lax"
    )
    record_consent(
        visitor_id=_visitor_id(request, response),
        purpose=ConsentPurpose.SALE_SHARING,
        granted=False,
        notice_text=cookie_banner_text("do_not_sell"),
        source=ConsentSource.GPC_SIGNAL if gpc_signal(request) else ConsentSource.COOKIE_BANNER,
        actor=ConsentActor.CLIENT,
        ip_address=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
