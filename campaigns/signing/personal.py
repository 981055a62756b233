"""The one place personal data is sealed and opened."""

from __future__ import annotations

from typing import TypedDict

from ..models import PERSONAL_DATA_PURPOSE, Signature
from ..privacy.crypto import Keyring, decrypt_json, encrypt_json


class PersonalData(TypedDict):
    name: str
    email: str | None
    phone: str | None


def seal_personal_data(data: PersonalData, ring: Keyring | None = None) -> bytes:
    return encrypt_json(
        {"name": data["name"], "email": data["email"], "phone": data["phone"]},
        PERSONAL_DATA_PURPOSE,
        ring,
    )


def read_personal_data(signature: Signature) -> PersonalData:
    if signature.personal_data is None:
        raise LookupError("personal data erased")
    data = decrypt_json(signature.personal_data, PERSONAL_DATA_PURPOSE)
    return PersonalData(name=data["name"] or "", email=data.get("email"), phone=data.get("phone"))
