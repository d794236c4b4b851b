"""Shared by the fault tests: a clinic open around the clock where it is midday."""

from datetime import datetime, timedelta

import pytest

from tests.support.processes import midday_clinic


@pytest.fixture
def open_clinic():
    """(location, service, start): one practitioner, open all day, and a free slot 3 to 4 hours ahead."""
    location, service, _ = midday_clinic()
    local_now = datetime.now(location.tzinfo)
    start = (local_now + timedelta(hours=4)).replace(minute=0, second=0, microsecond=0)
    return location, service, start
