"""The forms of a signer's own signature: ask for the link, the two choices,
the name. The labels and messages are the sign form's, so the signer reads
the same words."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ...forms import Form
from ...kernel.normalize import InvalidEmail, canonical_email
from ..forms import NAME_TOO_LONG, SignForm, _check_text
from ..limits import MAX_EMAIL, MAX_NAME


class RequestLinkForm(Form):
    """The address the link is sent to, if it signed."""

    email = StringField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Please enter your email address.")),
            Length(max=MAX_EMAIL, message=_l("This email address is too long.")),
        ],
    )

    def validate_email(self, field: StringField) -> None:
        try:
            canonical_email(field.data or "")
        except InvalidEmail:
            raise ValidationError(_l("Please enter a valid email address.")) from None


class ChoicesForm(Form):
    """What becomes public: the sign form's two choices, in its words."""

    show_name = BooleanField(SignForm.show_name.args[0])
    deliver_name = BooleanField(SignForm.deliver_name.args[0])


class NameForm(Form):
    """The name as it should be spelt, within the sign form's limits."""

    full_name = StringField(
        _l("Full name"),
        validators=[
            DataRequired(message=_l("Please enter your name.")),
            Length(max=MAX_NAME, message=NAME_TOO_LONG),
        ],
    )

    def validate_full_name(self, field: StringField) -> None:
        _check_text(field.data, MAX_NAME, _l("Please enter your name."), NAME_TOO_LONG)
