"""A campaign's reach in the console: a partner's home (its co-hosted
campaigns, the figures of its own codes it may see, its share links and
embed codes ready to copy), and the union's view of every source of a
campaign, where organizers and admins add and revoke codes."""

from __future__ import annotations

import html
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import Length

from ..accounts.services import visible_campaigns
from ..extensions import db
from ..forms import Form
from ..i18n import current_language, languages
from ..models import SOURCE_LABEL_MAX, Campaign, SourceCode, User
from ..reach.codes import (
    SourceRefused,
    add_source_code,
    campaign_codes,
    code_organizations,
    revoke_source_code,
)
from ..reach.figures import PartnerFigures, partner_figures, union_sources
from . import notices
from .access import EVERYONE, MANAGERS, managed_campaign, require, user

bp = Blueprint("console_reach", __name__, url_prefix="/console")

REFUSALS = {
    "organization": _l("Please choose the campaign's organization or one of its partners."),
    "label": _l("The channel's name is too long."),
}


class SourceForm(Form):
    organization = SelectField(_l("Organization"), coerce=int, validate_choice=False)
    label = StringField(
        _l("Channel (optional, for example: newsletter)"),
        [Length(max=SOURCE_LABEL_MAX, message=REFUSALS["label"])],
    )


@dataclass(frozen=True)
class CodeLinks:
    """One code with what its holder copies: a link per language, an embed."""

    code: SourceCode
    links: list[tuple[str, str]]
    embed: str


def code_links(campaign: Campaign, code: SourceCode) -> CodeLinks:
    site = current_app.config["SITE_URL"]
    links = [
        (
            lang,
            site + url_for("signing.campaign_page", slug=campaign.slug, lang=lang, src=code.code),
        )
        for lang in languages()
    ]
    lang = current_language()
    src = site + url_for("embed.widget", slug=campaign.slug, lang=lang, src=code.code)
    # The snippet as partners paste it (README): the URL holds only a slug,
    # a language and a code (URL-safe), the title is escaped for its attribute.
    title = html.escape(campaign.text(lang).title, quote=True)
    embed = (
        f'<iframe src="{src}" width="320" height="200" style="border:0" '
        f'title="{title}" loading="lazy"></iframe>'
    )
    return CodeLinks(code, links, embed)


@dataclass(frozen=True)
class HomeCampaign:
    campaign: Campaign
    figures: PartnerFigures
    codes: list[CodeLinks]
    # A code's name on the page: its channel, else the code itself.
    names: dict[str, str]


def home_items(reader: User) -> list[HomeCampaign]:
    """The reader's organization's codes on every campaign it may see, with
    the figures of those codes as its organization may see them."""
    items = []
    for campaign in visible_campaigns(reader):
        codes = campaign_codes(campaign.id, reader.organization_id)
        if not codes:
            continue
        items.append(
            HomeCampaign(
                campaign,
                partner_figures(campaign.id, codes),
                [code_links(campaign, c) for c in codes if c.revoked_at is None],
                {c.code: c.label or c.code for c in codes},
            )
        )
    return items


@bp.get("/reach")
@require(*EVERYONE)
def home() -> ResponseReturnValue:
    return render_template("console/reach/home.html", items=home_items(user()))


def _sources_page(
    campaign: Campaign, form: SourceForm | None = None, status: int = 200
) -> ResponseReturnValue:
    form = form or SourceForm(formdata=None)
    lang = current_language()
    form.organization.choices = [(o.id, o.name(lang)) for o in code_organizations(campaign)]
    rows = union_sources(campaign.id)
    return render_template(
        "console/reach/sources.html",
        campaign=campaign,
        rows=rows,
        links={
            row.code.code: code_links(campaign, row.code)
            for row in rows
            if row.code is not None and row.code.revoked_at is None
        },
        form=form,
    ), status


@bp.get("/campaigns/<slug>/sources")
@require(*MANAGERS)
def sources(slug: str) -> ResponseReturnValue:
    return _sources_page(managed_campaign(slug))


@bp.post("/campaigns/<slug>/sources")
@require(*MANAGERS)
def add(slug: str) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    form = SourceForm()
    if form.validate_on_submit():
        try:
            add_source_code(campaign, form.organization.data, form.label.data or "", user())
        except SourceRefused as refused:
            db.session.rollback()
            field = form.label if refused.reason == "label" else form.organization
            field.errors = [*field.errors, REFUSALS[refused.reason]]
        else:
            db.session.commit()
            notices.done(_("The source code was added."))
            return redirect(url_for(".sources", slug=slug), 303)
    if form.organization.errors:
        form.organization.errors = [REFUSALS["organization"]]
    return _sources_page(campaign, form, 422)


@bp.post("/campaigns/<slug>/sources/<code>/revoke")
@require(*MANAGERS)
def revoke(slug: str, code: str) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    revoked = revoke_source_code(campaign, code)
    if revoked is None:
        abort(404)
    db.session.commit()
    if revoked:
        notices.done(
            _("The source code was revoked: new signatures through it are no longer attributed.")
        )
    else:
        notices.done(_("The source code was revoked already."))
    return redirect(url_for(".sources", slug=slug), 303)
