"""Plain links to share a campaign page: no third-party script, image or
request until the person follows one."""

from __future__ import annotations

from urllib.parse import quote

from flask import current_app, url_for
from flask_babel import gettext

from .models import Campaign


def campaign_url(campaign: Campaign) -> str:
    """The campaign page's address, in the current language, as others open it."""
    return str(current_app.config["SITE_URL"]) + url_for(
        "signing.campaign_page", slug=campaign.slug
    )


def share_links(campaign: Campaign, title: str) -> list[tuple[str, str]]:
    """(name, href) for WhatsApp, Telegram, Facebook, X and email."""
    page = campaign_url(campaign)
    u, t = quote(page, safe=""), quote(title, safe="")
    return [
        ("WhatsApp", f"https://wa.me/?text={quote(title + ' ' + page, safe='')}"),
        ("Telegram", f"https://t.me/share/url?url={u}&text={t}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={u}"),
        ("X", f"https://x.com/intent/post?url={u}&text={t}"),
        (gettext("Email"), f"mailto:?subject={t}&body={quote(title + chr(10) + page, safe='')}"),
    ]
