"""Turns a policy's plain-text body into headings, paragraphs and lists (escaped)."""

from django import template
from django.utils.html import escape, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import slugify

register = template.Library()


@register.filter
def policy_html(body):
    parts = []
    for block in (body or "").replace("\r\n", "\n").split("\n\n"):
        lines = [line.rstrip() for line in block.strip().split("\n") if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("## "):
            title = lines.pop(0)[3:].strip()
            parts.append(f'<h2 id="{slugify(title)}">{escape(title)}</h2>')
        if lines and all(line.startswith("- ") for line in lines):
            parts.append("<ul>" + format_html_join("", "<li>{}</li>", ((line[2:],) for line in lines)) + "</ul>")
        elif lines:
            parts.append("<p>" + "<br>".join(escape(line) for line in lines) + "</p>")
    return mark_safe("\n".join(parts))
