"""A Content-Security-Policy that allows only the tags this visitor consented to.

django-csp builds the header; this middleware adds Google's hosts only when the
analytics group is accepted, and Meta's only when marketing is allowed (not
after GPC or "Do Not Sell or Share"); on private and treatment pages
(cookies.page_kind) neither, and the response sends no referrer. Inline tag
snippets carry the nonce.
"""

from csp.middleware import CSPMiddleware

from .cookies import tracking_state

ANALYTICS_HOSTS = [
    "https://www.googletagmanager.com",
    "https://www.google-analytics.com",
    "https://*.google-analytics.com",
]
MARKETING_HOSTS = ["https://connect.facebook.net", "https://www.facebook.com"]


class ConsentAwareCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        state = tracking_state(request)
        hosts = (ANALYTICS_HOSTS if state["analytics"] else []) + (MARKETING_HOSTS if state["marketing"] else [])
        if hosts:
            update = dict(parts.update or {})
            for directive in ("script-src", "img-src", "connect-src"):
                update[directive] = list(update.get(directive, [])) + hosts
            parts.update = update
        return parts

    def process_response(self, request, response):
        if tracking_state(request)["no_referrer"]:
            # Set before SecurityMiddleware's default (it only fills in a missing header). No other
            # site gets the address; not "no-referrer", which makes browsers send "Origin: null"
            # with the page's own form posts, and Django's CSRF check then refuses them.
            response.headers["Referrer-Policy"] = "same-origin"
        return super().process_response(request, response)
