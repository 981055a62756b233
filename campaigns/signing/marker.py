"""What a browser keeps after signing: one cookie per campaign saying only that
this browser signed there ("signed"), or pressed the confirmation button
("confirmed"), so that the campaign page stops offering it the form. It holds
no name, address or identifier: whoever uses the device after the signer
learns that the campaign was signed from it, which its history shows anyway,
and a link on the page lets them sign as someone else."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from werkzeug.http import dump_cookie
from werkzeug.wrappers import Response

from ..models import Campaign

SIGNED = "signed"
CONFIRMED = "confirmed"
MAX_AGE = timedelta(days=30)


def _cookie_name(campaign: Campaign) -> str:
    return f"signed-{campaign.slug}"


def remember_signing(response: Response, campaign: Campaign, state: str) -> None:
    """Mark this browser as having signed ``campaign`` (``SIGNED`` or ``CONFIRMED``).

    Max-Age without Expires: the header is the same whenever it is sent, so a
    duplicate signature's answer stays byte for byte a new one's."""
    response.headers.add(
        "Set-Cookie",
        dump_cookie(
            _cookie_name(campaign),
            state,
            max_age=int(MAX_AGE.total_seconds()),
            path="/",
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
            sync_expires=False,
        ),
    )


def signed_here(campaign: Campaign) -> str | None:
    """``SIGNED`` or ``CONFIRMED`` when this browser signed ``campaign``, else None."""
    value = request.cookies.get(_cookie_name(campaign))
    return value if value in (SIGNED, CONFIRMED) else None
