import httpx


def test_get():
    assert httpx.get("x")
