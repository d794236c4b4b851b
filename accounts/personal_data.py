"""The accounts app's personal data: sign-in proofs (hashes only) and signed-in sessions (address, browser)."""

from .models import AccountSession, SignInChallenge


def export_account(client_ids):
    return {
        "account_sessions": [
            {
                "signed_in_by": s.signed_in_by,
                "signed_in_at": s.created_at.isoformat(),
                "expires_at": s.expires_at.isoformat(),
                "ended_at": s.ended_at.isoformat() if s.ended_at else "",
                "ip_address": s.ip_address or "",
                "user_agent": s.user_agent,
            }
            for s in AccountSession.objects.filter(client_id__in=client_ids).order_by("created_at", "id")
        ],
        "account_sign_in_requests": [
            {
                "channel": c.channel,
                "purpose": c.purpose,
                "asked_at": c.created_at.isoformat(),
                "used_at": c.used_at.isoformat() if c.used_at else "",
                "new_contact": c.new_contact,
            }
            for c in SignInChallenge.objects.filter(client_id__in=client_ids).order_by("created_at", "id")
        ],
    }


def erase_account(client_ids):
    """Sessions and sign-in proofs go entirely: an erased person is signed out everywhere."""
    sessions, _ = AccountSession.objects.filter(client_id__in=client_ids).delete()
    challenges, _ = SignInChallenge.objects.filter(client_id__in=client_ids).delete()
    return sessions + challenges
