from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = StringField(
        _l("Email address"),
        validators=[DataRequired(message=_l("Please enter your email address.")), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Please enter your password.")), Length(max=200)],
    )
    code = StringField(_l("Code from your authenticator app (if you use one)"), [Length(max=12)])


class TotpSetupForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(message=_l("Please enter the code.")), Length(max=12)],
    )
