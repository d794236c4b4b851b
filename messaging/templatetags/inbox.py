from django import template

from messaging import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_inbox_count(context):
    """The unread texts at the staff member's locations, for the admin's menu and index (cached)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("messaging.view_inboundmessage"):
        return None
    return selectors.cached_unread_inbox_count(user)
