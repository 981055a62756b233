"""The kiosk's form: the sign form without an email (people at a stand often
have none they would use), and the entry's key."""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, ValidationError

from ..signing.forms import SignForm


class KioskForm(SignForm):
    """One person at a stand: name, optional phone, country, region, the
    choices of the public form. No email, hence no contact; no honeypot (the
    collector is logged in). ``entry_key`` is the entry's random key, made
    by the page (or the device): a second send of it changes nothing."""

    email = None
    contact_ok = None
    website = None
    entry_key = HiddenField()

    def validate_entry_key(self, field: HiddenField) -> None:
        try:
            field.data = uuid.UUID(str(field.data or ""))
        except ValueError:
            raise ValidationError(
                _l("This entry has no valid key: reload the kiosk page and enter it again.")
            ) from None
