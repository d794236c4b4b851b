import json
import logging

import stripe
from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services
from .backends.base import PaymentsError

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs the request instead (Stripe-Signature), checked before anything else
@require_POST
def stripe_webhook(request):
    if not settings.STRIPE_WEBHOOK_SECRET:  # an empty secret would accept anyone's signature
        return HttpResponseBadRequest("Stripe webhooks are not set up here.")
    try:
        # Verifies the signature (and its age); we then read the same verified body as plain data.
        stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature", ""), settings.STRIPE_WEBHOOK_SECRET
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("Bad or missing Stripe signature.")
    try:
        outcome = services.handle_stripe_event(json.loads(request.body))
    except (KeyError, TypeError, AttributeError, services.BadEvent):
        return HttpResponseBadRequest("Not a Stripe event.")
    except PaymentsError:
        logger.warning("Stripe event not applied yet; Stripe will deliver it again", exc_info=True)
        return HttpResponse("Try again later.", status=503)
    return HttpResponse(outcome)
