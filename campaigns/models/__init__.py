"""The shared data model."""

from .accounts import AuditEntry, LoginThrottle, Role, User
from .campaign import (
    SIGNABLE,
    VISIBLE,
    Campaign,
    CampaignImage,
    CampaignKind,
    CampaignStatus,
    CampaignText,
    campaign_partners,
)
from .counts import CampaignCount, CountryCount, DailyCount, RegionCount
from .email import EmailKind, EmailLog, EmailStatus
from .operations import (
    ACTIVE_JOBS,
    CampaignNotice,
    CampaignUpdate,
    Invalidation,
    JobState,
    PaperImport,
    SiteSetting,
    TrendingFlag,
    UpdateState,
)
from .organization import Organization, OrganizationKind
from .outbox import JobLock, OutboxMessage
from .signature import (
    CONFIRMABLE,
    CONSENT_NAME_CITY_DELIVERY,
    CONSENT_NAME_ONLY,
    COUNTED,
    CURRENT_CONSENT,
    PERSONAL_DATA_PURPOSE,
    Signature,
    SignatureSource,
    SignatureState,
)

__all__ = [
    "ACTIVE_JOBS",
    "CONFIRMABLE",
    "CONSENT_NAME_CITY_DELIVERY",
    "CONSENT_NAME_ONLY",
    "COUNTED",
    "CURRENT_CONSENT",
    "PERSONAL_DATA_PURPOSE",
    "SIGNABLE",
    "VISIBLE",
    "AuditEntry",
    "Campaign",
    "CampaignCount",
    "CampaignImage",
    "CampaignKind",
    "CampaignNotice",
    "CampaignStatus",
    "CampaignText",
    "CampaignUpdate",
    "CountryCount",
    "DailyCount",
    "EmailKind",
    "EmailLog",
    "EmailStatus",
    "Invalidation",
    "JobLock",
    "JobState",
    "LoginThrottle",
    "Organization",
    "OrganizationKind",
    "OutboxMessage",
    "PaperImport",
    "RegionCount",
    "Role",
    "Signature",
    "SignatureSource",
    "SignatureState",
    "SiteSetting",
    "TrendingFlag",
    "UpdateState",
    "User",
    "campaign_partners",
]
