"""axe-core (bundled by axe-playwright-python) on a page a browser test opened: 0 violations."""

from axe_playwright_python.sync_playwright import Axe

_axe = Axe()


def axe_violations(page, *, javascript: bool = True) -> list[str]:
    """Each violation as "rule: what it is (targets)"; empty when the page passes.

    javascript=False: the page was opened with JavaScript off, where axe cannot run (evaluating its
    script never returns), so its HTML is checked in a fresh page of the same browser, styles included.
    """
    if not javascript:
        html = page.content().replace("<head>", f'<head><base href="{page.url}">', 1)
        context = page.context.browser.new_context(viewport=page.viewport_size)
        try:
            copy = context.new_page()
            copy.set_content(html, wait_until="load")
            return axe_violations(copy)
        finally:
            context.close()
    results = _axe.run(page)
    return [
        f"{v['id']}: {v['help']} ({', '.join(str(node['target']) for node in v['nodes'])})"
        for v in results.response["violations"]
    ]
