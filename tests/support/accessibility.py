"""axe-core (bundled by axe-playwright-python) on a page a browser test opened: 0 violations."""

from axe_playwright_python.sync_playwright import Axe

_axe = Axe()


def axe_violations(page) -> list[str]:
    """Each violation as "rule: what it is (targets)"; empty when the page passes."""
    results = _axe.run(page)
    return [
        f"{v['id']}: {v['help']} ({', '.join(str(node['target']) for node in v['nodes'])})"
        for v in results.response["violations"]
    ]
