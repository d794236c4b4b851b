"""Test support lives in tests/support/, loaded once as a pytest plugin: tests never import one another."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.ImportFrom) and node.level:
            yield node.lineno, "." * node.level + (node.module or "")
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)


def test_test_modules_and_conftests_import_helpers_only_from_tests_support():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(TESTS).as_posix()
        for lineno, module in _imported_modules(path):
            inside_tests = module.startswith(("tests.", ".")) or module == "tests"
            if inside_tests and not (module.startswith("tests.support") or relative.startswith("support/")):
                offenders.append(f"tests/{relative}:{lineno} imports {module}")
    assert offenders == []


def test_the_support_plugin_is_loaded_once_by_the_root_conftest():
    def plugins_named_in(path):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytest_plugins" for t in node.targets):
                return ast.literal_eval(node.value)
        return None

    assert plugins_named_in(TESTS / "conftest.py") == ["tests.support"]
    assert [p for p in TESTS.rglob("conftest.py") if p != TESTS / "conftest.py" and plugins_named_in(p)] == []
