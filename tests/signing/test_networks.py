"""Trusted networks: CIDR ranges (IPv4 and IPv6) matched at signing, only
the network's id kept on the row; the Tor exit list imported whole or not at
all; the rate rules holding, not losing, signatures over a network's limits;
the wave that stays fraudulent; and the admins' page, the CLI command and
their refusals (translated)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.models import (
    AuditEntry,
    EmailLog,
    NetworkKind,
    Signature,
    SignatureState,
    TorExit,
    TrustedNetwork,
)
from campaigns.models.types import utcnow
from campaigns.signing.networks import (
    NetworkRefused,
    add_network,
    load_networks,
    network_id_for,
    parse_cidr,
    parse_tor_list,
    replace_tor_exits,
    trusted_networks,
)
from campaigns.signing.services import SignatureInput, sign_campaign
from campaigns.signing.validation import validate_signatures
from tests.factories import create_campaign, create_signature
from tests.moderation.support import audit, logged_in, make_console


def network(cidr: str, burst: int = 40, sustained: int = 400, label: str = "Office") -> int:
    row = TrustedNetwork(
        kind=NetworkKind.range, cidr=cidr, label=label, burst_limit=burst, sustained_limit=sustained
    )
    db.session.add(row)
    db.session.commit()
    return row.id


# -- Matching


def test_ranges_match_ipv4_and_ipv6_the_most_specific_first(app: Flask) -> None:
    office = network("192.0.2.0/24")
    room = network("192.0.2.128/25", label="Meeting room")
    camp = network("2001:db8:ca::/48", label="Camp")
    networks = load_networks()
    assert networks.match("192.0.2.7").id == office  # type: ignore[union-attr]
    assert networks.match("192.0.2.200").id == room  # type: ignore[union-attr]
    assert networks.match("::ffff:192.0.2.9").id == office  # type: ignore[union-attr]
    assert networks.match("2001:db8:ca:1::42").id == camp  # type: ignore[union-attr]
    assert networks.match("2001:0DB8:00CA::1").id == camp  # type: ignore[union-attr]
    for outside in ("192.0.3.1", "192.0.1.255", "2001:db8:cb::1", "10.0.0.1", "::1"):
        assert networks.match(outside) is None, outside
    for junk in (None, "", "not an address", "192.0.2.300", "192.0.2.0/24", "fe80::1%eth0"):
        assert networks.match(junk) is None, junk


def test_tor_exits_match_exactly(app: Flask) -> None:
    replace_tor_exits({"203.0.113.9", "2001:db8::9"})
    db.session.commit()
    networks = load_networks()
    assert networks.tor is not None
    assert networks.match("203.0.113.9") == networks.tor
    assert networks.match("2001:0db8:0000::0009") == networks.tor
    assert networks.match("203.0.113.10") is None


def test_signing_keeps_the_network_id_never_the_address(app: Flask) -> None:
    office = network("198.51.100.0/24")
    campaign = create_campaign()
    for n, address in enumerate(("198.51.100.77", "203.0.113.5")):
        data = SignatureInput(
            full_name="Rami", email=f"rami{n}@example.org", country="SY", region="Aleppo"
        )
        sign_campaign(campaign, data, locale="ar", client_ip=address)
    db.session.commit()
    rows = db.session.execute(select(Signature).order_by(Signature.id)).scalars().all()
    assert [r.network_id for r in rows] == [office, None]
    for row in rows:
        stored = " ".join(str(getattr(row, c.key)) for c in Signature.__table__.columns)
        assert "198.51.100" not in stored and "203.0.113" not in stored


def test_the_network_list_is_kept_for_a_short_time_and_forgotten_on_change(app: Flask) -> None:
    app.config["NETWORKS_CACHE_SECONDS"] = 60
    assert network_id_for("192.0.2.1") is None
    # Written behind the cache's back (another process): not seen yet.
    hidden = network("192.0.2.0/24")
    assert network_id_for("192.0.2.1") is None
    # A change made here forgets the cached list at once.
    console = make_console()
    add_network("2001:db8::/32", "Camp", 20, 200, console.admin)
    db.session.commit()
    assert network_id_for("192.0.2.1") == hidden


def test_many_ranges_each_match_their_own_addresses(app: Flask) -> None:
    """Matching looks up one table per prefix length in use (benchmarks/networks.py
    has the timings): with two hundred ranges each address finds its own."""
    ids = {n: network(f"10.{n}.0.0/16", label=f"n{n}") for n in range(200)}
    inner = network("10.7.7.0/24", label="inner")
    networks = trusted_networks()
    for n in range(200):
        assert networks.match(f"10.{n}.200.4").id == ids[n]  # type: ignore[union-attr]
    assert networks.match("10.7.7.7").id == inner  # type: ignore[union-attr]
    assert networks.match("10.200.0.1") is None


# -- Input refused


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "cidr"),
        ("not a range", "cidr"),
        ("10.0.0.0/33", "cidr"),
        ("300.1.2.3/24", "cidr"),
        ("2001:db8::/129", "cidr"),
        ("::ffff:10.0.0.0/104", "cidr"),
        ("0.0.0.0/0", "too_wide"),
        ("10.0.0.0/7", "too_wide"),
        ("2001::/16", "too_wide"),
    ],
)
def test_bad_ranges_are_refused(text: str, reason: str) -> None:
    with pytest.raises(NetworkRefused) as refused:
        parse_cidr(text)
    assert refused.value.reason == reason


def test_host_bits_are_dropped() -> None:
    assert parse_cidr(" 192.0.2.77/24 ").with_prefixlen == "192.0.2.0/24"
    assert parse_cidr("2001:DB8::1/48").with_prefixlen == "2001:db8::/48"


def test_tor_list_reads_comments_and_the_tor_projects_format() -> None:
    text = (
        "# exits, 2026-12-05\n\n203.0.113.9\n  2001:DB8::9   # a comment\n"
        "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nPublished 2026-12-05 01:00:00\n"
        "LastStatus 2026-12-05 02:00:00\nExitAddress 198.51.100.4 2026-12-05 02:07:41\n"
        "::ffff:192.0.2.1\n"
    )
    assert parse_tor_list(text.encode()) == {
        "203.0.113.9", "2001:db8::9", "198.51.100.4", "192.0.2.1",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("data", "reason", "lines"),
    [
        (b"203.0.113.9\nnot an address\n10.0.0.0/24\n", "lines", [2, 3]),
        (b"# only comments\n\n", "empty", []),
        (b"", "empty", []),
        (b"\xff\xfe1.2.3.4", "lines", [1]),
        (b"1.2.3.4 5.6.7.8\n", "lines", [1]),
        (b"1.2.3.4\n" * 200_000, "too_large", []),
    ],
)
def test_bad_tor_lists_are_refused(data: bytes, reason: str, lines: list[int]) -> None:
    with pytest.raises(NetworkRefused) as refused:
        parse_tor_list(data)
    assert (refused.value.reason, refused.value.lines) == (reason, lines)


def test_importing_the_tor_list_replaces_the_previous_one(app: Flask) -> None:
    assert replace_tor_exits({"203.0.113.1", "203.0.113.2"}) == (0, 2)
    db.session.commit()
    assert replace_tor_exits({"203.0.113.2", "2001:db8::3"}) == (2, 2)
    db.session.commit()
    assert set(db.session.execute(select(TorExit.address)).scalars()) == {
        "203.0.113.2", "2001:db8::3",
    }  # fmt: skip
    [tor] = db.session.execute(select(TrustedNetwork)).scalars().all()
    assert tor.kind is NetworkKind.tor and tor.cidr is None
    assert (tor.burst_limit, tor.sustained_limit) == (
        app.config["TOR_BURST_LIMIT"], app.config["TOR_SUSTAINED_LIMIT"],
    )  # fmt: skip
    entries = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "tor_list_imported")
    ).scalars().all()
    assert [e.details for e in entries] == [{"before": 0, "after": 2}, {"before": 2, "after": 2}]


def test_the_cli_imports_the_tor_list_and_refuses_a_bad_file(app: Flask, tmp_path: Path) -> None:
    good = tmp_path / "exits.txt"
    good.write_text("# Tor\n203.0.113.7\n203.0.113.8\n", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["networks", "import-tor", str(good)])
    assert result.exit_code == 0, result.output
    assert "0 addresses before, 2 now" in result.output
    bad = tmp_path / "bad.txt"
    bad.write_text("203.0.113.9\nexit.example.org\n", encoding="utf-8")
    result = runner.invoke(args=["networks", "import-tor", str(bad)])
    assert result.exit_code != 0
    assert "2" in result.output
    db.session.rollback()
    assert set(db.session.execute(select(TorExit.address)).scalars()) == {
        "203.0.113.7", "203.0.113.8",
    }  # fmt: skip


# -- The rules


def _burst(campaign, address: str, n: int, start=None) -> list[int]:  # type: ignore[no-untyped-def]
    start = start or utcnow()
    return [
        create_signature(campaign, ip=address, created_at=start + timedelta(seconds=i)).id
        for i in range(n)
    ]


def _outcome(ids: list[int]) -> list[tuple[str, str | None, str | None]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Signature.state, Signature.hold_reason, Signature.fraud_reason)
        .where(Signature.id.in_(ids))
        .order_by(Signature.id)
    ).all()
    return [(s.value, h, f) for s, h, f in rows]


def test_over_the_default_limit_signatures_are_held_and_all_emailed(app: Flask) -> None:
    app.config.update(RATE_BURST_LIMIT=3, RATE_WAVE_LIMIT=8)
    campaign = create_campaign()
    ids = _burst(campaign, "192.0.2.10", 6)
    validate_signatures(ids)
    assert _outcome(ids) == [("pending", None, None)] * 3 + [("pending", "rate_burst", None)] * 3
    assert db.session.scalar(select(func.count()).select_from(EmailLog)) == 6


def test_a_trusted_network_has_its_own_limits(app: Flask) -> None:
    app.config.update(RATE_BURST_LIMIT=3, RATE_WAVE_LIMIT=50)
    office = network("192.0.2.0/24", burst=5, sustained=100)
    campaign = create_campaign()
    ids = _burst(campaign, "192.0.2.10", 7)
    db.session.execute(
        Signature.__table__.update().where(Signature.id.in_(ids)).values(network_id=office)
    )
    db.session.commit()
    outside = _burst(campaign, "203.0.113.10", 5)
    validate_signatures(ids + outside)
    assert [h for _, h, _ in _outcome(ids)] == [None] * 5 + ["rate_burst"] * 2
    assert [h for _, h, _ in _outcome(outside)] == [None] * 3 + ["rate_burst"] * 2


def test_a_network_removed_since_falls_back_to_the_default_limits(app: Flask) -> None:
    app.config.update(RATE_BURST_LIMIT=2)
    campaign = create_campaign()
    ids = _burst(campaign, "192.0.2.10", 3)
    db.session.execute(
        Signature.__table__.update().where(Signature.id.in_(ids)).values(network_id=9999)
    )
    db.session.commit()
    validate_signatures(ids)
    assert [h for _, h, _ in _outcome(ids)] == [None, None, "rate_burst"]


def test_a_wave_far_above_any_limit_is_fraudulent_silently(app: Flask) -> None:
    app.config.update(RATE_BURST_LIMIT=3, RATE_WAVE_LIMIT=6)
    office = network("192.0.2.0/24", burst=5, sustained=100)
    campaign = create_campaign()
    ids = _burst(campaign, "192.0.2.10", 8)
    db.session.execute(
        Signature.__table__.update().where(Signature.id.in_(ids)).values(network_id=office)
    )
    db.session.commit()
    validate_signatures(ids)
    assert _outcome(ids) == (
        [("pending", None, None)] * 5
        + [("pending", "rate_burst", None)]
        + [("fraudulent", None, "rate_wave")] * 2
    )
    emailed = set(db.session.execute(select(EmailLog.signature_id)).scalars())
    assert emailed == set(ids[:6])


def test_a_disposable_domain_stays_fraudulent_from_a_trusted_network(app: Flask) -> None:
    office = network("192.0.2.0/24")
    campaign = create_campaign()
    signature = create_signature(campaign, ip="192.0.2.5", email="x@mailinator.com")
    signature.network_id = office
    db.session.commit()
    validate_signatures([signature.id])
    assert _outcome([signature.id]) == [("fraudulent", None, "disposable_domain")]


def test_a_held_signature_confirms_into_held_and_is_not_counted(app: Flask) -> None:
    from campaigns.counting.services import campaign_count, update_signature_counts
    from campaigns.signing.services import AlreadyConfirmed, confirm_signature
    from campaigns.signing.tokens import make_confirm_token

    app.config.update(RATE_BURST_LIMIT=1)
    campaign = create_campaign()
    first, second = _burst(campaign, "192.0.2.10", 2)
    validate_signatures([first, second])
    for signature_id in (first, second):
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        confirm_signature(make_confirm_token(signature.uuid))
        db.session.commit()
    assert [s for s, _, _ in _outcome([first, second])] == ["validated", "held"]
    update_signature_counts()
    assert campaign_count(campaign.id).signers == 1
    # The held signer pressing the button again is told it is confirmed.
    held = db.session.get(Signature, second)
    assert held is not None and held.state is SignatureState.held
    with pytest.raises(AlreadyConfirmed):
        confirm_signature(make_confirm_token(held.uuid))


# -- The admins' page


def test_admins_declare_a_range_and_it_is_audited(app: Flask) -> None:
    console = make_console()
    client = logged_in(app, console.admin, console)
    form = {
        "cidr": "2001:db8:5::/48", "label": "مخيم", "burst_limit": "60", "sustained_limit": "900",
    }  # fmt: skip
    assert client.post("/console/networks", data=form).status_code == 303
    [row] = db.session.execute(select(TrustedNetwork)).scalars().all()
    assert (row.cidr, row.label, row.burst_limit, row.sustained_limit) == (
        "2001:db8:5::/48", "مخيم", 60, 900,
    )  # fmt: skip
    [entry] = audit("network_added")
    assert entry.user_id == console.admin.id and entry.details["cidr"] == "2001:db8:5::/48"
    page = client.get("/console/networks").get_data(as_text=True)
    assert "2001:db8:5::/48" in page and "مخيم" in page
    assert client.post(f"/console/networks/{row.id}/remove").status_code == 303
    assert db.session.execute(select(TrustedNetwork)).first() is None
    assert len(audit("network_removed")) == 1
    assert client.post(f"/console/networks/{row.id}/remove").status_code == 404


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"cidr": "10.0.0.0/33"}, "أدخل نطاقاً مثل 192.0.2.0/24"),
        ({"cidr": "0.0.0.0/0"}, "هذا النطاق واسع جداً"),
        ({"burst_limit": "500"}, "حد الموجة"),
        ({"burst_limit": "90", "sustained_limit": "60"}, "يجب ألّا يقل الحد في الساعة"),
        ({"burst_limit": "abc"}, "أدخل عدداً صحيحاً"),
        ({"label": "\u200b\u00ad"}, "يُرجى إعطاء الشبكة اسماً"),
    ],
)
def test_bad_input_is_refused_with_a_translated_error_and_changes_nothing(
    app: Flask, form: dict[str, str], message: str
) -> None:
    console = make_console()
    client = logged_in(app, console.admin, console)
    data = {
        "cidr": "192.0.2.0/24", "label": "Office", "burst_limit": "50", "sustained_limit": "500",
    }  # fmt: skip
    response = client.post("/console/networks", data={**data, **form})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.execute(select(TrustedNetwork)).first() is None
    assert audit("network_added") == []


def test_an_uploaded_tor_list_replaces_the_old_one_or_changes_nothing(app: Flask) -> None:
    import io

    console = make_console()
    client = logged_in(app, console.admin, console)

    def upload(data: bytes) -> int:
        response = client.post(
            "/console/networks/tor",
            data={"file": (io.BytesIO(data), "exits.txt")},
            content_type="multipart/form-data",
        )
        return response.status_code

    assert upload(b"# exits\n203.0.113.1\n203.0.113.2\n") == 303
    assert upload(b"203.0.113.3\n") == 303
    db.session.rollback()
    assert list(db.session.execute(select(TorExit.address)).scalars()) == ["203.0.113.3"]
    bad = client.post(
        "/console/networks/tor",
        data={"file": (io.BytesIO(b"203.0.113.4\nexit.example\n"), "exits.txt")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "السطر 2 ليس عنواناً" in bad.get_data(as_text=True)
    assert upload(b"") == 422
    assert client.post("/console/networks/tor", data={}).status_code == 422
    db.session.rollback()
    assert list(db.session.execute(select(TorExit.address)).scalars()) == ["203.0.113.3"]
    page = client.get("/console/networks").get_data(as_text=True)
    assert "Tor" in page
