import urllib.request


def test_fetches_a_page():
    # `.invalid` never resolves (RFC 2606), with or without a network.
    urllib.request.urlopen("http://agentkit-h17.invalid/", timeout=5)


def test_adds():
    assert 1 + 1 == 2
