"""Every refusal a service makes by a rule of the clinic is a BusinessRuleError, whose message is for the person."""

import pytest

from appointments.services import (
    AppointmentStatusError,
    BookingRefused,
    ChangeNotAllowed,
    FrontDeskBookingRefused,
    SlotUnavailable,
    check_status_change,
)
from clinic.errors import BusinessRuleError
from clinic.identity import ClaimInvalid, MergeRefused
from messaging.inbound import ReplyRefused
from messaging.opt_outs import LiftRefused
from privacy.erasure import ErasureRefused
from privacy.rectification import CorrectionRefused
from privacy.subject_requests import RequestRefused, VerificationError


@pytest.mark.parametrize(
    "refusal",
    [
        SlotUnavailable,
        ChangeNotAllowed,
        BookingRefused,
        AppointmentStatusError,
        FrontDeskBookingRefused,
        ReplyRefused,
        LiftRefused,
        MergeRefused,
        ClaimInvalid,
        ErasureRefused,
        CorrectionRefused,
        RequestRefused,
        VerificationError,
    ],
)
def test_each_service_refusal_is_a_business_rule_error(refusal):
    assert issubclass(refusal, BusinessRuleError)


def test_an_appointment_refusal_reads_as_the_rule_for_the_person_shown_it():
    with pytest.raises(BusinessRuleError) as refused:
        check_status_change(current="cancelled", new="booked")
    assert str(refused.value) == "A cancelled appointment cannot become booked. Book a new appointment instead."
    front_desk = FrontDeskBookingRefused({None: ["Dr Lee already has Botox from 10:00 to 10:30."]})
    assert (
        isinstance(front_desk, BusinessRuleError) and str(front_desk) == "Dr Lee already has Botox from 10:00 to 10:30."
    )
