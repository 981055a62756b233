"""The union, its partners and its two real campaigns. Seeding is idempotent:
what exists (matched by slug) is left as it is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .extensions import db
from .models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignText,
    Organization,
    OrganizationKind,
)

ORGANIZATIONS: list[dict[str, Any]] = [
    {
        "slug": "aleppo-revolutionaries-union",
        "kind": OrganizationKind.union,
        "names": {"ar": "اتحاد ثوار حلب", "en": "Aleppo Revolutionaries Union"},
    },
    {
        "slug": "kurdish-independents-league",
        "kind": OrganizationKind.partner,
        "names": {"ar": "رابطة المستقلين الكرد", "en": "Kurdish Independents League"},
    },
    {
        "slug": "syrian-national-coalition",
        "kind": OrganizationKind.partner,
        "names": {
            "ar": "الائتلاف الوطني لقوى الثورة والمعارضة السورية",
            "en": "Syrian National Coalition",
        },
    },
]

UNION_AR = (
    "اتحاد ثوار حلب اتحادٌ مدني أسسته في نهاية عام 2013 ثلاثٌ وعشرون تنسيقيةً ومجلسًا "
    "محليًا من أحياء حلب. هُجِّر أعضاؤه من المدينة عام 2016، ويعملون منذ ذلك الحين في "
    "الشمال السوري وتركيا وأوروبا."
)
UNION_EN = (
    "The Aleppo Revolutionaries Union is a civil-society union founded at the end of 2013 "
    "by 23 neighbourhood councils of Aleppo. Its members were displaced from the city in "
    "2016 and have worked since in northern Syria, Turkey and Europe."
)

CAMPAIGNS: list[dict[str, Any]] = [
    {
        "slug": "no-russia-on-hrc",
        "kind": CampaignKind.petition,
        "goal": 100_000,
        "unit": "signatures",
        "partners": [],
        "texts": {
            "ar": {
                "title": "لا لروسيا في مجلس حقوق الإنسان",
                "summary": (
                    "عريضة شعبية نرفض فيها عضوية روسيا في مجلس حقوق الإنسان التابع للأمم "
                    "المتحدة، وهي التي قصفت طائراتها المستشفيات والمدارس والأسواق في حلب."
                ),
                "body": (
                    "نحن الموقّعين أدناه، سوريين وأصدقاءً لسوريا، نطالب الدول الأعضاء في "
                    "الجمعية العامة للأمم المتحدة بألّا تمنح روسيا مقعدًا في مجلس حقوق "
                    "الإنسان.\n\n"
                    "شاركت روسيا منذ عام 2015 في قصف المدن السورية، ووثّقت لجان الأمم "
                    "المتحدة نفسها استهداف المستشفيات والأسواق وقوافل الإغاثة في حلب "
                    "وإدلب. ولا يجوز لدولةٍ ترتكب هذه الانتهاكات أن تجلس في المجلس المكلّف "
                    "بحماية حقوق الإنسان.\n\n" + UNION_AR
                ),
                "unit_label": "توقيع",
            },
            "en": {
                "title": "No to Russia on the Human Rights Council",
                "summary": (
                    "A popular petition against Russia's membership of the UN Human Rights "
                    "Council, whose aircraft bombed the hospitals, schools and markets of "
                    "Aleppo."
                ),
                "body": (
                    "We, the undersigned, Syrians and friends of Syria, call on the member "
                    "states of the UN General Assembly not to give Russia a seat on the "
                    "Human Rights Council.\n\n"
                    "Since 2015 Russia has taken part in the bombing of Syrian cities; the "
                    "UN's own commissions have documented attacks on hospitals, markets and "
                    "aid convoys in Aleppo and Idlib. A state that commits these violations "
                    "must not sit on the council charged with protecting human rights.\n\n"
                    + UNION_EN
                ),
                "unit_label": "signatures",
            },
        },
    },
    {
        "slug": "olive-trees-afrin",
        "kind": CampaignKind.pledge,
        "goal": 500,
        "unit": "trees",
        "max_amount_per_signer": 50,
        "partners": ["kurdish-independents-league", "syrian-national-coalition"],
        "texts": {
            "ar": {
                "title": "نحن أشجار الزيتون",
                "summary": (
                    "حملة لزراعة 500 شجرة زيتون في عفرين في ذكرى انطلاق الثورة السورية، "
                    "مع رابطة المستقلين الكرد والائتلاف الوطني."
                ),
                "body": (
                    "الزيتون ذاكرة عفرين ورزق أهلها، وقد اقتُلع وأُحرق منه الكثير في "
                    "سنوات الحرب. في ذكرى انطلاق الثورة نزرع معًا 500 شجرة زيتون في "
                    "عفرين، عربًا وكردًا، علامةً على أن هذه الأرض لأهلها جميعًا.\n\n"
                    "تعهّد بعدد الأشجار التي تريد أن تساهم بها، وسيتواصل معك الاتحاد "
                    "وشركاؤه بشأن الزراعة إن وافقت على ذلك.\n\n" + UNION_AR
                ),
                "unit_label": "شجرة زيتون",
            },
            "en": {
                "title": "We are the olive trees",
                "summary": (
                    "Planting 500 olive trees in Afrin on the anniversary of the Syrian "
                    "revolution, with the Kurdish Independents League and the National "
                    "Coalition."
                ),
                "body": (
                    "Olive trees are Afrin's memory and its people's living; many were "
                    "uprooted and burnt in the years of war. On the anniversary of the "
                    "revolution we plant 500 olive trees in Afrin together, Arabs and "
                    "Kurds, as a sign that this land belongs to all its people.\n\n"
                    "Pledge the number of trees you want to give; if you agree, the union "
                    "and its partners will contact you about the planting.\n\n" + UNION_EN
                ),
                "unit_label": "olive trees",
            },
        },
    },
]


def seed() -> list[str]:
    """Create what is missing; returns the slugs created."""
    created: list[str] = []
    orgs: dict[str, Organization] = {}
    for spec in ORGANIZATIONS:
        org = db.session.execute(
            select(Organization).where(Organization.slug == spec["slug"])
        ).scalar_one_or_none()
        if org is None:
            org = Organization(**spec)
            db.session.add(org)
            created.append(str(spec["slug"]))
        orgs[org.slug] = org
    union = orgs["aleppo-revolutionaries-union"]
    for spec in CAMPAIGNS:
        exists = db.session.execute(
            select(Campaign.id).where(Campaign.slug == spec["slug"])
        ).scalar()
        if exists:
            continue
        campaign = Campaign(
            slug=spec["slug"],
            kind=spec["kind"],
            status=CampaignStatus.open,
            goal=spec["goal"],
            unit=spec["unit"],
            max_amount_per_signer=spec.get("max_amount_per_signer"),
            organization=union,
            partners=[orgs[slug] for slug in spec["partners"]],
        )
        for locale, text in spec["texts"].items():
            campaign.texts[locale] = CampaignText(locale=locale, **text)
        db.session.add(campaign)
        created.append(str(spec["slug"]))
    db.session.flush()
    return created
