from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, StrEnumType, enum_check


class OrganizationKind(enum.Enum):
    union = "union"
    partner = "partner"

    @property
    def title(self) -> str:
        return str({"union": _l("Union"), "partner": _l("Partner")}[self.value])


class Organization(db.Model):  # type: ignore[name-defined,misc]
    """The union itself and the partner organizations that co-host campaigns."""

    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint(enum_check("kind", OrganizationKind), name="kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(StrEnumType(OrganizationKind))
    # {"ar": "...", "en": "..."}: a handful of short names, not worth a table.
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    website: Mapped[str | None] = mapped_column(String(200))

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get("ar") or self.slug
