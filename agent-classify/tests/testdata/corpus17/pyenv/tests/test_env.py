import os
import socket

from app import api_key, load_fixture


def test_reads_api_key():
    assert api_key() == "secret"


def test_reads_fixture_file():
    assert load_fixture("users.json").startswith("[")


def test_binds_busy_port():
    first = socket.socket()
    first.bind(("127.0.0.1", 0))
    first.listen()
    port = first.getsockname()[1]
    second = socket.socket()
    try:
        second.bind(("127.0.0.1", port))
    finally:
        second.close()
        first.close()


def test_requires_setting():
    if "H17_DATABASE_URL" not in os.environ:
        raise RuntimeError("environment variable H17_DATABASE_URL not set")


def test_calls_api():
    import httpx

    assert httpx.get("http://localhost").status_code == 200
