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
from .disclosure import DisclosureKind, DisclosureRequest, DisclosureState
from .email import EmailKind, EmailLog, EmailStatus
from .kiosk import Kiosk
from .network import NetworkKind, TorExit, TrustedNetwork
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
from .outcomes import CampaignDelivery, CampaignResponse, CampaignThreshold, DeliveryMethod
from .signature import (
    CONFIRMABLE,
    CONSENT_NAME_CITY_DELIVERY,
    CONSENT_NAME_ONLY,
    COUNTED,
    CURRENT_CONSENT,
    LIVE,
    MANAGEABLE,
    PERSONAL_DATA_PURPOSE,
    UNCOUNTED,
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
    "LIVE",
    "MANAGEABLE",
    "PERSONAL_DATA_PURPOSE",
    "SIGNABLE",
    "UNCOUNTED",
    "VISIBLE",
    "AuditEntry",
    "Campaign",
    "CampaignCount",
    "CampaignDelivery",
    "CampaignImage",
    "CampaignKind",
    "CampaignNotice",
    "CampaignResponse",
    "CampaignStatus",
    "CampaignText",
    "CampaignThreshold",
    "CampaignUpdate",
    "CountryCount",
    "DailyCount",
    "DeliveryMethod",
    "DisclosureKind",
    "DisclosureRequest",
    "DisclosureState",
    "EmailKind",
    "EmailLog",
    "EmailStatus",
    "Invalidation",
    "JobLock",
    "JobState",
    "Kiosk",
    "LoginThrottle",
    "NetworkKind",
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
    "TorExit",
    "TrendingFlag",
    "TrustedNetwork",
    "UpdateState",
    "User",
    "campaign_partners",
]
