"""The shared data model."""

from .campaign import (
    SIGNABLE,
    VISIBLE,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignText,
    campaign_partners,
)
from .counts import CampaignCount, CountryCount, DailyCount, RegionCount
from .email import EmailKind, EmailLog, EmailStatus
from .organization import Organization, OrganizationKind
from .outbox import JobLock, OutboxMessage
from .signature import (
    CONFIRMABLE,
    COUNTED,
    PERSONAL_DATA_PURPOSE,
    Signature,
    SignatureSource,
    SignatureState,
)

__all__ = [
    "CONFIRMABLE",
    "COUNTED",
    "PERSONAL_DATA_PURPOSE",
    "SIGNABLE",
    "VISIBLE",
    "Campaign",
    "CampaignCount",
    "CampaignKind",
    "CampaignStatus",
    "CampaignText",
    "CountryCount",
    "DailyCount",
    "EmailKind",
    "EmailLog",
    "EmailStatus",
    "JobLock",
    "Organization",
    "OrganizationKind",
    "OutboxMessage",
    "RegionCount",
    "Signature",
    "SignatureSource",
    "SignatureState",
    "campaign_partners",
]
