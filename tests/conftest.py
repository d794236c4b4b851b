# Test support (settings, builders, fakes, processes) is one plugin: tests/support/.
pytest_plugins = ["tests.support"]
