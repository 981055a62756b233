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
from .reach.codes import ensure_partner_codes

ORGANIZATIONS: list[dict[str, Any]] = [
    {
        "slug": "aleppo-revolutionaries-union",
        "kind": OrganizationKind.union,
        "names": {
            "ar": "اتحاد ثوار حلب",
            "en": "Aleppo Revolutionaries Union",
            "ku": "Yekîtiya Şoreşgerên Helebê",
            "tr": "Halep Devrimciler Birliği",
        },
    },
    {
        "slug": "kurdish-independents-league",
        "kind": OrganizationKind.partner,
        "names": {
            "ar": "رابطة المستقلين الكرد",
            "en": "Kurdish Independents League",
            "ku": "Komeleya Serbixweyên Kurd",
            "tr": "Bağımsız Kürtler Birliği",
        },
    },
    {
        "slug": "syrian-national-coalition",
        "kind": OrganizationKind.partner,
        "names": {
            "ar": "الائتلاف الوطني لقوى الثورة والمعارضة السورية",
            "en": "Syrian National Coalition",
            "ku": "Hevbendiya Niştimanî ya Sûriyê",
            "tr": "Suriye Ulusal Koalisyonu",
        },
    },
]

UNION_AR = (
    "اتحاد ثوار حلب اتحادٌ مدني أسّسته في نهاية عام 2013 ثلاثةٌ وعشرون مجلسًا "
    "محليًا لأحياء حلب. هُجِّر أعضاؤه من المدينة عام 2016، ويعملون منذ ذلك الحين في "
    "الشمال السوري وتركيا وأوروبا."
)
UNION_EN = (
    "The Aleppo Revolutionaries Union is a civil-society union founded at the end of 2013 "
    "by 23 neighbourhood councils of Aleppo. Its members were displaced from the city in "
    "2016 and have worked since in northern Syria, Turkey and Europe."
)
UNION_KU = (
    "Yekîtiya Şoreşgerên Helebê yekîtiyeke civaka sivîl e ku di dawiya sala 2013an de "
    "ji aliyê 23 encumenên taxên Helebê ve hat "
    "damezrandin. Endamên wê di sala 2016an de ji bajêr hatin koçberkirin û ji wê demê ve "
    "li bakurê Sûriyê, li Tirkiyê û li Ewropayê dixebitin."
)
UNION_TR = (
    "Halep Devrimciler Birliği, 2013 yılının sonunda Halep'in 23 mahalle meclisi "
    "tarafından kurulan bir sivil toplum birliğidir. "
    "Üyeleri 2016'da şehirden zorla göç ettirildi; o zamandan beri Suriye'nin kuzeyinde, "
    "Türkiye'de ve Avrupa'da çalışıyor."
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
                "target": "الدول الأعضاء في الجمعية العامة للأمم المتحدة",
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
                "target": "The member states of the UN General Assembly",
            },
            "ku": {
                "title": "Na ji Rûsyayê re di Encumena Mafên Mirovan de",
                "summary": (
                    "Daxwaznameyeke gelêrî li dijî endamtiya Rûsyayê di Encumena Mafên "
                    "Mirovan a Neteweyên Yekbûyî de; balafirên wê nexweşxane, dibistan û "
                    "bazarên Helebê bombebaran kirin."
                ),
                "body": (
                    "Em, îmzekerên jêrîn, Sûrî û dostên Sûriyê, ji dewletên endam ên Civîna "
                    "Giştî ya Neteweyên Yekbûyî dixwazin ku kursiyekê di Encumena Mafên "
                    "Mirovan de nedin Rûsyayê.\n\n"
                    "Rûsya ji sala 2015an ve beşdarî bombebarana bajarên Sûriyê bûye; "
                    "komîsyonên Neteweyên Yekbûyî bi xwe êrişên li ser nexweşxane, bazar û "
                    "kerwanên alîkariyê li Heleb û Îdlibê belge kirine. Nabe ku dewleteke "
                    "van binpêkirinan dike di encumena ku erka wê parastina mafên mirovan e "
                    "de rûne.\n\n" + UNION_KU
                ),
                "unit_label": "îmze",
                "target": "Dewletên endam ên Civata Giştî ya NY",
            },
            "tr": {
                "title": "İnsan Hakları Konseyinde Rusya'ya hayır",
                "summary": (
                    "Uçakları Halep'in hastanelerini, okullarını ve pazar yerlerini bombalayan "
                    "Rusya'nın BM İnsan Hakları Konseyi üyeliğine karşı bir halk dilekçesi."
                ),
                "body": (
                    "Biz aşağıda imzası bulunan Suriyeliler ve Suriye dostları, BM Genel "
                    "Kurulu üyesi devletleri Rusya'ya İnsan Hakları Konseyinde sandalye "
                    "vermemeye çağırıyoruz.\n\n"
                    "Rusya 2015'ten bu yana Suriye şehirlerinin bombalanmasına katılıyor; "
                    "BM'nin kendi komisyonları Halep ve İdlib'de hastanelere, pazar yerlerine "
                    "ve yardım konvoylarına yönelik saldırıları belgeledi. Bu ihlalleri "
                    "işleyen bir devlet, insan haklarını korumakla görevli konseyde yer "
                    "almamalıdır.\n\n" + UNION_TR
                ),
                "unit_label": "imza",
                "target": "BM Genel Kurulu'na üye devletler",
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
            "ku": {
                "title": "Em darên zeytûnê ne",
                "summary": (
                    "Kampanyayek ji bo çandina 500 dar zeytûn li Efrînê di salvegera "
                    "destpêka şoreşa Sûriyê de, bi Komeleya Serbixweyên Kurd û Hevbendiya "
                    "Niştimanî re."
                ),
                "body": (
                    "Zeytûn bîra Efrînê û debara xelkê wê ye; di salên şer de gelek ji wan "
                    "ji kokê hatin derxistin û şewitandin. Di salvegera destpêka şoreşê de "
                    "em, Ereb û Kurd, bi hev re 500 dar zeytûn li Efrînê diçînin, wekî "
                    "nîşaneya ku ev ax ya hemû xelkê wê ye.\n\n"
                    "Soz bide ka tu dixwazî çend daran bidî; eger tu razî bî, yekîtî û "
                    "hevkarên wê dê derbarê çandinê de bi te re têkilî deynin.\n\n" + UNION_KU
                ),
                "unit_label": "dar zeytûn",
            },
            "tr": {
                "title": "Biz zeytin ağaçlarıyız",
                "summary": (
                    "Suriye devriminin yıl dönümünde Bağımsız Kürtler Birliği ve Ulusal "
                    "Koalisyon ile birlikte Afrin'e 500 zeytin ağacı dikme kampanyası."
                ),
                "body": (
                    "Zeytin ağaçları Afrin'in hafızası ve halkının geçim kaynağıdır; savaş "
                    "yıllarında birçoğu kökünden sökülüp yakıldı. Devrimin yıl dönümünde, bu "
                    "toprakların tüm halkına ait olduğunun bir işareti olarak, Araplar ve "
                    "Kürtler birlikte Afrin'e 500 zeytin ağacı dikiyoruz.\n\n"
                    "Kaç ağaç vermek istediğinizi belirterek söz verin; kabul ederseniz birlik "
                    "ve ortakları dikimle ilgili sizinle iletişime geçecek.\n\n" + UNION_TR
                ),
                "unit_label": "zeytin ağacı",
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
        db.session.flush()
        ensure_partner_codes(campaign)
        created.append(str(spec["slug"]))
    db.session.flush()
    return created
