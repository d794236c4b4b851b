"""{% site_url 'name' %}: {% url %} for the site's fixed links (no arguments), reversed once per process.

Every public page carries the same eight header, footer and cookie-banner
links; reversing them costs about 30 microseconds each, a fifth of a cached
availability page. The answer depends only on the URLconf and the script
prefix, so those are part of the memo key.
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@lru_cache(maxsize=256)
def _reversed(viewname, urlconf, prefix):
    return reverse(viewname, urlconf=urlconf)


@register.simple_tag
def site_url(viewname):
    return _reversed(viewname, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
