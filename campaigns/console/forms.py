from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from ..forms import Form


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
