from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import Form
from .receipts import is_well_formed

NOT_A_RECEIPT = _l("Type the receipt code of 32 letters and digits you were shown on confirming.")


class ReceiptForm(Form):
    """The receipt to look for, posted (never in a URL, so never in a log)."""

    receipt = StringField(
        _l("Receipt code"),
        validators=[DataRequired(message=NOT_A_RECEIPT), Length(max=80, message=NOT_A_RECEIPT)],
    )

    def validate_receipt(self, field: StringField) -> None:
        if not is_well_formed(field.data or ""):
            raise ValidationError(NOT_A_RECEIPT)
