import h17_absent_sdk  # declared in pyproject.toml, not installed here


def pytest_configure(config):
    pass
