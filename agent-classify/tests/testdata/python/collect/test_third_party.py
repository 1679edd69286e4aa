import requests_not_installed_xyz


def test_third_party():
    assert requests_not_installed_xyz
