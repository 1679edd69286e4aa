from inventory.reports import monthly_report


def test_monthly_report():
    assert monthly_report([]) == ""
