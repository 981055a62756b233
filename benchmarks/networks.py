"""Micro-benchmark of matching a client address against the trusted networks
on the sign path (``signing.networks``): the per-request cost, with the list
already in the process's memo. Run: ``.venv/bin/python -m benchmarks.networks``.

It builds the matching structure the way ``load_networks`` does, from N
ranges (IPv4 and IPv6, several prefix lengths) and a Tor exit list of a
realistic size, and times ``match`` for addresses inside and outside them."""

from __future__ import annotations

import ipaddress
import random
import statistics
import time

from campaigns.models import NetworkKind
from campaigns.signing.networks import Network, build_network_list

TOR_EXITS = 2_000
ROUNDS = 5
CALLS = 100_000


def _ranges(count: int, rng: random.Random) -> list[tuple[str, Network]]:
    pairs = []
    for n in range(count):
        if n % 3 == 2:
            prefix = rng.choice((32, 40, 48, 56, 64))
            base = ipaddress.IPv6Address(0x20010DB8 << 96 | rng.getrandbits(64) << 32)
            cidr = ipaddress.ip_network(f"{base}/{prefix}", strict=False)
        else:
            prefix = rng.choice((16, 20, 22, 24, 28, 32))
            base4 = ipaddress.IPv4Address(rng.getrandbits(32))
            cidr = ipaddress.ip_network(f"{base4}/{prefix}", strict=False)
        pairs.append((cidr.with_prefixlen, Network(n + 2, NetworkKind.range, f"n{n}", 50, 500)))
    return pairs


def measure(count: int) -> dict[str, float]:
    rng = random.Random(count)  # noqa: S311 (test addresses, not secrets)
    ranges = _ranges(count, rng)
    tor = (None, Network(1, NetworkKind.tor, "Tor", 30, 300))
    exits = {str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(TOR_EXITS)}
    networks = build_network_list([tor, *ranges], exits)
    inside = [str(ipaddress.ip_network(c).network_address) for c, _ in ranges]
    outside = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(1000)]
    addresses = (inside + outside + ["2001:db8::1", "::ffff:192.0.2.1"]) * (
        CALLS // (len(inside) + len(outside) + 2) + 1
    )
    addresses = addresses[:CALLS]
    found = sum(networks.match(a) is not None for a in inside)
    if found != len(inside):
        raise SystemExit(f"{len(inside) - found} ranges not matched")
    per_call = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for address in addresses:
            networks.match(address)
        per_call.append((time.perf_counter() - started) / len(addresses) * 1e6)
    return {"ranges": count, "median_us": statistics.median(per_call), "max_us": max(per_call)}


def main() -> None:
    print(f"match() per address, {TOR_EXITS} Tor exits, {CALLS} calls x {ROUNDS} rounds")
    for count in (0, 10, 100, 1_000, 10_000):
        figures = measure(count)
        print(
            f"  {figures['ranges']:>6} ranges: median {figures['median_us']:.2f} µs, "
            f"worst round {figures['max_us']:.2f} µs"
        )


if __name__ == "__main__":
    main()
