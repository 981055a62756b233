from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from ..forms import Form
from ..i18n import reader_time_zone, time_zone


class LoginForm(Form):
    email = StringField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Please enter your email address.")),
            Length(max=254),
            # PostgreSQL refuses a NUL in a query: no account has one.
            Regexp(r"^[^\x00]*$", message=_l("Please enter a valid email address.")),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Please enter your password.")), Length(max=200)],
    )
    code = StringField(_l("Code from your authenticator app (if you use one)"), [Length(max=12)])


class TotpStartForm(Form):
    """Show a new key to enrol (replacing one shown before)."""


class TotpSetupForm(Form):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(message=_l("Please enter the code.")), Length(max=12)],
    )


class TotpChangeForm(TotpSetupForm):
    """Replacing an enrolled authenticator: whoever holds the session must
    also know the password and hold the current authenticator."""

    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(message=_l("Please enter your password.")), Length(max=200)],
    )
    current_code = StringField(
        _l("Code from your current authenticator app"),
        validators=[
            DataRequired(message=_l("Please enter the code from your current app.")),
            Length(max=12),
        ],
    )


class TimeZoneForm(Form):
    # Choices are set per request, named in the reader's language.
    time_zone = SelectField(_l("Show dates and times in the time of"), choices=[])


# Dates and times are typed as digits in a fixed order, explained beside the
# box, in every language: a browser's date box shows its own language's
# order ("mm/dd/yyyy" on an Arabic page), which is not the page's.
DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
CLOCK_FORMAT = re.compile(r"(\d{1,2}):(\d{2})")
EARLIEST = date(2000, 1, 1)
BAD_DATE = _l("Enter a date as year-month-day, for example 2026-03-15.")
BAD_CLOCK = _l("Enter a time as hours:minutes on a 24-hour clock, for example 18:30.")
# Arabic-Indic and Persian digits, as a phone's Arabic keyboard types them.
_DIGITS = {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)}}


def _digits(value: str | None) -> str:
    return (value or "").translate(_DIGITS).strip()


def parse_day(value: str | None) -> date | None:
    """A year-month-day date (from 2000 on), or None."""
    value = _digits(value)
    if not DATE_FORMAT.fullmatch(value):
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if day >= EARLIEST else None


def parse_clock(value: str | None) -> time | None:
    """An hours:minutes time on a 24-hour clock, or None."""
    found = CLOCK_FORMAT.fullmatch(_digits(value))
    if found is None:
        return None
    hours, minutes = int(found.group(1)), int(found.group(2))
    return time(hours, minutes) if hours < 24 and minutes < 60 else None


def reader_moment(day: date, clock: time | None) -> datetime:
    """A date and time read in the reader's time zone, as UTC (midnight when
    no time is given)."""
    local = datetime.combine(day, clock or time(0, 0), tzinfo=time_zone(reader_time_zone()))
    return local.astimezone(UTC)


def reader_day_and_clock(moment: datetime | None) -> tuple[str, str]:
    """A stored moment as the two boxes show it in the reader's time zone."""
    if moment is None:
        return "", ""
    local = moment.astimezone(time_zone(reader_time_zone()))
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
