"""The demo clinic for the browser tests of visits."""

import pytest

from appointments.demo import seed_demo_data
from privacy.demo import seed_privacy_demo_data


@pytest.fixture
def demo_clinic_with_visits():
    seed_demo_data()
    seed_privacy_demo_data()
