import os

from inventory import Stock


def test_reads_api_key():
    key = os.environ["SHOP_API_KEY"]
    assert Stock() is not None and key


def test_loads_snapshot():
    with open("tests_extra/fixtures/snapshot.json") as f:
        assert f.read()
