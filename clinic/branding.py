"""The clinic's branding on the public pages (name, logo, favicon, colours, meta description), from settings.

A start-up check refuses colours that are not #rrggbb (they go into a <style> element) and
a text colour too faint on the accent for WCAG AA (4.5:1), and names a logo or favicon that
is missing from the static files.
"""

import re

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core import checks

HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
MIN_CONTRAST = 4.5  # WCAG 2 AA, normal text


def _luminance(color: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def brand() -> dict[str, str]:
    """What base.html needs; colours only when valid (the check reports the rest)."""
    accent, ink = settings.CLINIC_ACCENT_COLOR, settings.CLINIC_ACCENT_TEXT_COLOR
    valid = bool(HEX_COLOR.fullmatch(accent) and HEX_COLOR.fullmatch(ink))
    return {
        "name": settings.CLINIC_NAME,
        "logo": settings.CLINIC_LOGO,
        "favicon": settings.CLINIC_FAVICON,
        "accent": accent if valid else "",
        "accent_text": ink if valid else "",
        "description": settings.CLINIC_DESCRIPTION,
    }


@checks.register("clinic")
def branding_is_usable(app_configs=None, **kwargs):
    errors = []
    for name in ("CLINIC_ACCENT_COLOR", "CLINIC_ACCENT_TEXT_COLOR"):
        if not HEX_COLOR.fullmatch(getattr(settings, name)):
            errors.append(
                checks.Error(f"{name} {getattr(settings, name)!r} is not a #rrggbb colour.", id="clinic.E010")
            )
    if not errors:
        ratio = contrast(settings.CLINIC_ACCENT_COLOR, settings.CLINIC_ACCENT_TEXT_COLOR)
        if ratio < MIN_CONTRAST:
            errors.append(
                checks.Error(
                    f"CLINIC_ACCENT_TEXT_COLOR on CLINIC_ACCENT_COLOR has a contrast of {ratio:.1f}:1, "
                    f"under the {MIN_CONTRAST}:1 that button text needs to be readable.",
                    hint="Darken the accent or use #ffffff / #000000 for the text.",
                    id="clinic.E011",
                )
            )
    for name in ("CLINIC_LOGO", "CLINIC_FAVICON"):
        path = getattr(settings, name)
        if path and not finders.find(path):
            errors.append(checks.Error(f"{name} {path!r} is not among the static files.", id="clinic.E012"))
    return errors
