"""The one place personal data is sealed and opened."""

from __future__ import annotations

from typing import TypedDict

from ..models import COLLECTOR_PURPOSE, PERSONAL_DATA_PURPOSE, Signature
from .crypto import Keyring, decrypt_json, encrypt_json


class PersonalData(TypedDict):
    name: str
    email: str | None
    phone: str | None
    # The typed city or region: in a small town it can point at one person, so
    # it is sealed with the rest (only the matched ``region_code`` stays in clear).
    region: str


def seal_personal_data(data: PersonalData, ring: Keyring | None = None) -> bytes:
    return encrypt_json(
        {
            "name": data["name"],
            "email": data["email"],
            "phone": data["phone"],
            "region": data["region"],
        },
        PERSONAL_DATA_PURPOSE,
        ring,
    )


def read_personal_data(signature: Signature) -> PersonalData:
    if signature.personal_data is None:
        raise LookupError("personal data erased")
    return open_personal_data(signature.personal_data)


def open_personal_data(blob: bytes, ring: Keyring | None = None) -> PersonalData:
    """A ``personal_data`` column as selected (exports read a million of them:
    no ORM object each)."""
    data = decrypt_json(blob, PERSONAL_DATA_PURPOSE, ring)
    return PersonalData(
        name=data["name"] or "",
        email=data.get("email"),
        phone=data.get("phone"),
        region=data.get("region") or "",
    )


class Collector(TypedDict):
    """Who took a printed sheet into the field (``paper_sheets.collector_data``)."""

    name: str
    phone: str | None


def seal_collector(data: Collector, ring: Keyring | None = None) -> bytes:
    """Sealed under its own purpose: a collector's blob never opens as a
    signer's, nor the other way round."""
    return encrypt_json({"name": data["name"], "phone": data["phone"]}, COLLECTOR_PURPOSE, ring)


def open_collector(blob: bytes, ring: Keyring | None = None) -> Collector:
    data = decrypt_json(blob, COLLECTOR_PURPOSE, ring)
    return Collector(name=data["name"] or "", phone=data.get("phone"))
