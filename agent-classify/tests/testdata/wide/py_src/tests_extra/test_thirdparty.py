import orbitalmechanics

from inventory import Stock


def test_orbit_stock():
    assert orbitalmechanics.G > 0 and Stock().total() == 0
