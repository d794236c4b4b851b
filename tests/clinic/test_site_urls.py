"""{% site_url %}: the layout's fixed links, reversed once per process yet always right."""

from django.template import Context, Template
from django.urls import reverse, set_script_prefix


def render(source):
    return Template("{% load site_urls %}" + source).render(Context())


def test_a_site_url_is_the_same_link_url_gives():
    assert render("{% site_url 'privacy:policy' %}") == reverse("privacy:policy")


def test_a_site_url_follows_the_script_prefix_of_the_request():
    try:
        set_script_prefix("/clinic/")
        mounted = render("{% site_url 'privacy:policy' %}")
    finally:
        set_script_prefix("/")
    assert mounted == "/clinic" + reverse("privacy:policy")
    assert render("{% site_url 'privacy:policy' %}") == reverse("privacy:policy")


def test_every_public_page_links_the_privacy_pages_in_its_footer(client, db):
    html = client.get(reverse("privacy:policy")).content.decode()
    for name in (
        "privacy:policy",
        "messaging:preferences_request",
        "privacy:cookie_settings",
        "privacy:choices",
        "privacy:request_form",
        "privacy:cookie_choice",
    ):
        assert f'"{reverse(name)}' in html
