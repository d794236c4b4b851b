"""Plain-text bodies of emails, rendered without HTML escaping.

A plain-text email is read as it is written: Django's HTML escaping would send
"O'Brien" as "O&#x27;Brien" and turn the "&" of a link's query into "&amp;",
which breaks the link. Every ``.txt`` email template renders through the
"plain_text" template engine (settings.TEMPLATES), which does not escape; HTML
pages and HTML email parts keep the default engine and its escaping.
"""

from typing import Any

from django.template.loader import render_to_string


def render_plain_text(template_name: str, context: dict[str, Any] | None = None) -> str:
    return render_to_string(template_name, context, using="plain_text")
