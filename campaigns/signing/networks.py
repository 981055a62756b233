"""Trusted networks: where many people honestly sign from one address (a camp,
a union office, an internet café, Tor). Signing decides which one (if any)
the client address is in and keeps only its id on the row; the rate rules
then use that network's limits (``validation``). Admins declare ranges and
import the Tor exit list here; every change is audited. Flush only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import delete, insert, select

from ..accounts.audit import record
from ..cache import memo
from ..extensions import db
from ..kernel.normalize import clean_text
from ..models import NetworkKind, TorExit, TrustedNetwork, User

_KEY = "trusted-networks"
# Wider than these, a "trusted" range would cover whole providers or countries.
MIN_PREFIX = {4: 8, 6: 32}
# An import of the Tor exit list: far above its real size (a few thousand).
MAX_TOR_LINES = 100_000
MAX_TOR_BYTES = 4 * 1024 * 1024
LABEL_LENGTH = 100

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NetworkRefused(ValueError):
    """Input an admin gave that declares no network; ``reason`` says why
    (``cidr``, ``too_wide``, ``exists``, ``limits``, ``wave``, ``label``,
    ``empty``, ``too_large``, ``lines``), ``lines`` the bad line numbers of a
    Tor list."""

    def __init__(self, reason: str, lines: list[int] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lines = lines or []


@dataclass(frozen=True)
class Network:
    """A trusted network as the rules read it."""

    id: int
    kind: NetworkKind
    label: str
    burst_limit: int
    sustained_limit: int


@dataclass(frozen=True)
class NetworkList:
    """Every trusted network, ready to match an address: per IP version and
    prefix length, the ranges by their network address as an integer (a
    lookup per prefix length in use, whatever the number of ranges)."""

    ranges: dict[int, list[tuple[int, dict[int, Network]]]] = field(default_factory=dict)
    tor: Network | None = None
    tor_exits: frozenset[str] = frozenset()
    by_id: dict[int, Network] = field(default_factory=dict)

    def match(self, address: str | None) -> Network | None:
        """The trusted network ``address`` is in (the most specific range; Tor
        first), or None, also for anything that is not an address."""
        ip = parse_address(address)
        if ip is None:
            return None
        if self.tor is not None and str(ip) in self.tor_exits:
            return self.tor
        value = int(ip)
        bits = ip.max_prefixlen
        for prefix, table in self.ranges.get(ip.version, ()):
            found = table.get(value >> (bits - prefix))
            if found is not None:
                return found
        return None


def parse_address(address: str | None) -> IPAddress | None:
    """An address as the rules compare it (IPv4-mapped IPv6 as IPv4), or None."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def build_network_list(
    networks: Iterable[tuple[str | None, Network]], tor_exits: Iterable[str] = ()
) -> NetworkList:
    """The matching structure for (cidr, network) pairs (cidr None: the Tor
    network) and the Tor exit addresses."""
    grouped: dict[int, dict[int, dict[int, Network]]] = {4: {}, 6: {}}
    tor = None
    by_id: dict[int, Network] = {}
    for cidr_text, network in networks:
        by_id[network.id] = network
        if network.kind is NetworkKind.tor:
            tor = network
            continue
        cidr = ipaddress.ip_network(cidr_text or "")
        shift = cidr.max_prefixlen - cidr.prefixlen
        table = grouped[cidr.version].setdefault(cidr.prefixlen, {})
        table[int(cidr.network_address) >> shift] = network
    return NetworkList(
        # Most specific first: a small range inside a bigger one keeps its own limits.
        ranges={
            version: sorted(tables.items(), key=lambda item: -item[0])
            for version, tables in grouped.items()
        },
        tor=tor,
        tor_exits=frozenset(tor_exits) if tor else frozenset(),
        by_id=by_id,
    )


def load_networks() -> NetworkList:
    """The trusted networks as the database has them now, read on a connection
    of its own (autocommit, like ``execute_alone``): the sign request that
    refreshes the process's copy holds no session connection for it."""
    columns = (
        TrustedNetwork.cidr,
        TrustedNetwork.id,
        TrustedNetwork.kind,
        TrustedNetwork.label,
        TrustedNetwork.burst_limit,
        TrustedNetwork.sustained_limit,
    )
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        rows = connection.execute(select(*columns)).all()
        has_tor = any(row.kind is NetworkKind.tor for row in rows)
        exits = connection.execute(select(TorExit.address)).scalars().all() if has_tor else []
    return build_network_list(((row[0], Network(*row[1:])) for row in rows), exits)


def trusted_networks() -> NetworkList:
    """The trusted networks, kept per process for ``NETWORKS_CACHE_SECONDS``:
    the sign path matches every address against them without a query. A
    change shows in this process at once, in others within that time."""
    ttl = current_app.config["NETWORKS_CACHE_SECONDS"]
    if ttl <= 0:
        return load_networks()
    networks: NetworkList = memo().get_or_compute(_KEY, ttl, load_networks)
    return networks


def forget_networks() -> None:
    memo().forget(_KEY)


def network_id_for(address: str | None) -> int | None:
    """Signing: the id of the trusted network the client address is in, if any."""
    network = trusted_networks().match(address)
    return network.id if network else None


# -- What admins do


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR range an admin typed (host bits allowed, dropped), or NetworkRefused."""
    try:
        network = ipaddress.ip_network((text or "").strip(), strict=False)
    except ValueError:
        raise NetworkRefused("cidr") from None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        raise NetworkRefused("cidr")
    if network.prefixlen < MIN_PREFIX[network.version]:
        raise NetworkRefused("too_wide")
    return network


def check_limits(burst_limit: int, sustained_limit: int) -> None:
    """A network's limits: positive, the hour's at least the minute's, and the
    minute's below the wave that marks signatures fraudulent whatever the network."""
    if burst_limit < 1 or sustained_limit < burst_limit:
        raise NetworkRefused("limits")
    if burst_limit >= current_app.config["RATE_WAVE_LIMIT"]:
        raise NetworkRefused("wave")


def list_networks() -> list[TrustedNetwork]:
    return list(
        db.session.execute(
            select(TrustedNetwork).order_by(TrustedNetwork.kind, TrustedNetwork.cidr)
        ).scalars()
    )


def tor_exit_count() -> int:
    return len(trusted_networks().tor_exits) if trusted_networks().tor else 0


def add_network(
    cidr: str, label: str, burst_limit: int, sustained_limit: int, user: User
) -> TrustedNetwork:
    """Declare a trusted range; audited. NetworkRefused for bad input (nothing changes)."""
    network = parse_cidr(cidr)
    label = clean_text(label or "")
    if not label or len(label) > LABEL_LENGTH:
        raise NetworkRefused("label")
    check_limits(burst_limit, sustained_limit)
    normalized = network.with_prefixlen
    if db.session.execute(
        select(TrustedNetwork.id).where(TrustedNetwork.cidr == normalized)
    ).scalar():
        raise NetworkRefused("exists")
    row = TrustedNetwork(
        kind=NetworkKind.range,
        cidr=normalized,
        label=label,
        burst_limit=burst_limit,
        sustained_limit=sustained_limit,
        created_by=user.id,
    )
    db.session.add(row)
    db.session.flush()
    record(
        "network_added",
        "trusted_network",
        row.id,
        cidr=normalized,
        label=label,
        burst_limit=burst_limit,
        sustained_limit=sustained_limit,
    )
    forget_networks()
    return row


def remove_network(network_id: int) -> bool:
    """Remove a trusted network (the Tor row takes its exit list with it);
    audited. False when there was none. Signatures keep the id they were
    given; the rules then use the default limits for it."""
    row = db.session.get(TrustedNetwork, network_id)
    if row is None:
        return False
    if row.kind is NetworkKind.tor:
        db.session.execute(delete(TorExit))
    record("network_removed", "trusted_network", row.id, kind=row.kind.value, cidr=row.cidr)
    db.session.delete(row)
    db.session.flush()
    forget_networks()
    return True


def parse_tor_list(data: bytes | str) -> set[str]:
    """The addresses of a Tor exit list: one address a line, blank lines and
    ``#`` comments allowed; the Tor Project's ``ExitAddress <ip> <date>`` lines
    read too, its other lines skipped. NetworkRefused naming the bad lines
    (at most 10 of them), or ``empty`` when it holds no address."""
    if isinstance(data, bytes):
        if len(data) > MAX_TOR_BYTES:
            raise NetworkRefused("too_large")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise NetworkRefused("lines", [1]) from None
    lines = data.splitlines()
    if len(lines) > MAX_TOR_LINES:
        raise NetworkRefused("too_large")
    found: set[str] = set()
    bad: list[int] = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        words = text.split()
        if words[0] == "ExitAddress" and len(words) >= 2:
            text = words[1]
        elif words[0] in ("ExitNode", "Published", "LastStatus"):
            continue
        elif len(words) != 1:
            bad.append(number)
            continue
        ip = parse_address(text)
        if ip is None:
            bad.append(number)
        else:
            found.add(str(ip))
    if bad:
        raise NetworkRefused("lines", bad[:10])
    if not found:
        raise NetworkRefused("empty")
    return found


def replace_tor_exits(addresses: Iterable[str]) -> tuple[int, int]:
    """Replace the whole Tor exit list in the caller's transaction (readers
    see the old list until it commits, then the new one: never half of it);
    the Tor network is created with the configured limits the first time.
    Audited with the counts; returns (before, after)."""
    addresses = sorted(set(addresses))
    before = db.session.execute(select(TorExit.address)).scalars().all()
    tor = db.session.execute(
        select(TrustedNetwork).where(TrustedNetwork.kind == NetworkKind.tor)
    ).scalar_one_or_none()
    if tor is None:
        config = current_app.config
        tor = TrustedNetwork(
            kind=NetworkKind.tor,
            cidr=None,
            label="Tor",
            burst_limit=config["TOR_BURST_LIMIT"],
            sustained_limit=config["TOR_SUSTAINED_LIMIT"],
        )
        db.session.add(tor)
        db.session.flush()
    db.session.execute(delete(TorExit))
    rows: list[dict[str, Any]] = [{"address": address} for address in addresses]
    for start in range(0, len(rows), 1000):
        db.session.execute(insert(TorExit), rows[start : start + 1000])
    record("tor_list_imported", "trusted_network", tor.id, before=len(before), after=len(rows))
    forget_networks()
    return len(before), len(rows)
