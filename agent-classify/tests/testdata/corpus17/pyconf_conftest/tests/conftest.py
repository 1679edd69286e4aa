from app.fixtures import make_user  # the project has no app package


def pytest_configure(config):
    pass
