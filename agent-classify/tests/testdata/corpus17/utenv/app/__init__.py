import os


def api_key():
    return os.environ["H17_API_KEY"]


def load_fixture(name):
    with open(os.path.join(os.path.dirname(__file__), "..", "tests", "data", name)) as f:
        return f.read()
