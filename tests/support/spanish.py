"""Asking for a page in Spanish, as a Spanish-speaking browser does, and checking no English chrome is left."""

import re
from html import unescape

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}


def _main(html: str) -> str:
    """The page's own content: the site's header and footer (base.html) are checked with the base template."""
    main = re.search(r"<main\b.*?</main>", html, flags=re.S)
    return main.group(0) if main else html


def visible_text(response) -> str:
    """The words of the page's main content (tags, scripts and styles removed), as a reader sees them."""
    html = _main(response.content.decode())
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def form_chrome(response) -> list[str]:
    """The labels, legends and buttons inside the page's main content: what must be in the reader's language."""
    html = _main(response.content.decode())
    found = re.findall(r"<(label|legend|button)\b[^>]*>(.*?)</\1>", html, flags=re.S)
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", text))).strip() for _, text in found]


def assert_no_english(response, *phrases):
    text = visible_text(response)
    for phrase in phrases:
        assert phrase not in text, f"English left on the Spanish page: {phrase!r}"
