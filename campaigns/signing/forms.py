from __future__ import annotations

from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, Label, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..forms import Form
from ..i18n import format_number
from ..kernel.countries import country_choices, country_codes
from ..kernel.normalize import InvalidEmail, InvalidPhone, canonical_email, canonical_phone
from ..models import Campaign
from .codes import typed_code
from .limits import (
    MAX_CODE,
    MAX_EMAIL,
    MAX_NAME,
    MAX_PHONE,
    MAX_REGION,
    AmountRefused,
    parse_amount,
    pledge_cap,
    text_refusal,
)

NAME_TOO_LONG = _l("Your name must be at most %(max)s characters.", max=MAX_NAME)
REGION_TOO_LONG = _l("The city or region must be at most %(max)s characters.", max=MAX_REGION)


def _check_text(value: str | None, limit: int, missing: LazyString, too_long: LazyString) -> None:
    """A required free-text field, judged on what would be stored."""
    refused = text_refusal(value or "", limit)
    if refused:
        raise ValidationError(missing if refused == "missing" else too_long)


class SignForm(Form):
    """The public sign form. Field names are the public contract."""

    full_name = StringField(
        _l("Full name"),
        validators=[
            DataRequired(message=_l("Please enter your name.")),
            Length(max=MAX_NAME, message=NAME_TOO_LONG),
        ],
    )
    email = StringField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Please enter your email address.")),
            Length(max=MAX_EMAIL, message=_l("This email address is too long.")),
        ],
    )
    phone = StringField(
        _l("Phone (optional)"),
        validators=[
            Optional(),
            Length(max=MAX_PHONE, message=_l("This phone number is too long.")),
        ],
    )
    country = SelectField(
        _l("Country where you live"),
        validators=[DataRequired(message=_l("Please choose your country."))],
        validate_choice=False,
    )
    region = StringField(
        _l("City or region"),
        validators=[
            DataRequired(message=_l("Please enter your city or region.")),
            Length(max=MAX_REGION, message=REGION_TOO_LONG),
        ],
    )
    amount = StringField(_l("How many do you pledge?"))  # labelled per campaign below
    # Each choice says what becomes public and where (consent version 2, see
    # models.signature); both start unticked.
    show_name = BooleanField(
        _l("Show my first name and city on this campaign's public list of signers")
    )
    # Campaigns have no addressee field yet: the label names them generically.
    deliver_name = BooleanField(
        _l(
            "Print my full name in the petition we deliver to the people this campaign is "
            "addressed to"
        )
    )
    contact_ok = BooleanField(_l("The union may contact me about this campaign"))
    # Honeypot: hidden from people by CSS; bots fill it in.
    website = StringField(_l("Leave this field empty"))
    # The source code of the share link or embed the signer came through
    # (reach.codes); anything not a live code is ignored, never an error.
    # An empty label: without one WTForms translates a default label, and
    # choosing the request's language for it was a sixth of a sign POST's CPU.
    src = HiddenField(label="")
    # The honeypot answers a bot like anyone; the amount takes digits only
    # (and a petition ignores it).
    control_exempt = frozenset({"website", "amount", "src"})

    def __init__(self, campaign: Campaign, lang: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.country.choices = [("", _l("Choose…")), *country_choices(lang)]
        self.parsed_amount: int | None = None
        self.pledge_cap = pledge_cap(campaign)
        if campaign.is_pledge:
            unit = campaign.text(lang).unit_label
            self.amount.label = Label(
                self.amount.id, _l("How many %(unit)s do you pledge?", unit=unit)
            )

    def validate_full_name(self, field: StringField) -> None:
        _check_text(field.data, MAX_NAME, _l("Please enter your name."), NAME_TOO_LONG)

    def validate_email(self, field: StringField) -> None:
        try:
            canonical_email(field.data or "")
        except InvalidEmail:
            raise ValidationError(_l("Please enter a valid email address.")) from None

    def validate_country(self, field: SelectField) -> None:
        if field.data not in country_codes():
            raise ValidationError(_l("Please choose your country."))

    def validate_phone(self, field: StringField) -> None:
        if not field.data:
            return
        try:
            canonical_phone(field.data, self.country.data)
        except InvalidPhone:
            raise ValidationError(
                _l("Please enter a valid phone number, with the country code if it is abroad.")
            ) from None

    def validate_region(self, field: StringField) -> None:
        missing = _l("Please enter your city or region.")
        _check_text(field.data, MAX_REGION, missing, REGION_TOO_LONG)

    def validate_amount(self, field: StringField) -> None:
        if not self.campaign.is_pledge:
            return
        try:
            self.parsed_amount = parse_amount(field.data or "", self.pledge_cap)
        except AmountRefused as refused:
            if refused.reason == "missing":
                raise ValidationError(_l("Please enter how many you pledge.")) from None
            if refused.reason == "invalid":
                raise ValidationError(_l("Please enter a whole number.")) from None
            raise ValidationError(
                _l("Please enter a number from 1 to %(cap)s.", cap=format_number(self.pledge_cap))
            ) from None


CODE_NOT_DIGITS = _l("Please type the 8 digits of the code in the email.")


class CodeForm(Form):
    """The thanks page's form: the code from the confirmation email."""

    code = StringField(
        _l("Code from the email"),
        validators=[
            DataRequired(message=CODE_NOT_DIGITS),
            Length(max=MAX_CODE, message=CODE_NOT_DIGITS),
        ],
    )

    typed: str = ""

    def validate_code(self, field: StringField) -> None:
        typed = typed_code(field.data or "")
        if typed is None:
            raise ValidationError(CODE_NOT_DIGITS)
        self.typed = typed
