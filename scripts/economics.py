#!/usr/bin/env python3
"""Tables for docs/ECONOMICS.md: committee capture and draw bias.

Prints Markdown. Values mirror runtime/src/configs.rs; pass none. Seats are
modelled as independent draws with the attacker's share `a` of verifier
stake (the limit of a stake split over many accounts; the pallet draws
without replacement, which only lowers a minority's chance of two seats).
"""
from math import comb

VRT = 1.0
EXECUTOR_STAKE = 1000 * VRT      # MinExecutorStake
VERIFIER_STAKE = 1000 * VRT      # MinVerifierStake
EXECUTOR_SLASH = 0.10
CHALLENGER_REWARD = 0.20         # of the slash
VERIFIER_REWARD = 0.30           # of the slash, to the quorum
CHALLENGE_BOND = 10 * VRT
MINORITY_PENALTY = 0.10          # of a verifier's stake
COMMITTEE = 3
QUORUM = 2


def seats(a, k, n=COMMITTEE):
    return comb(n, k) * a**k * (1 - a) ** (n - k)


def capture(a):
    return sum(seats(a, k) for k in range(QUORUM, COMMITTEE + 1))


def attack(a):
    """An attacker challenges an honest result and votes a false output with
    every seat it gets. Returns (P(capture), expected gain, expected loss)."""
    p = capture(a)
    slash = EXECUTOR_SLASH * EXECUTOR_STAKE
    gain = p * (CHALLENGER_REWARD + VERIFIER_REWARD) * slash
    # Not captured: the bond is lost and each attacker seat is outvoted.
    lost_seats = sum(k * seats(a, k) for k in range(0, QUORUM))
    loss = (1 - p) * CHALLENGE_BOND + lost_seats * MINORITY_PENALTY * VERIFIER_STAKE
    return p, gain, loss


print("| attacker's share of verifier stake | P(2 of 3 seats) | expected gain | expected loss | profitable |")
print("|---|---|---|---|---|")
for a in [0.05, 0.10, 0.20, 0.33, 0.50, 0.60, 0.67]:
    p, g, l = attack(a)
    print(f"| {a:.2f} | {p:.3f} | {g:.1f} VRT | {l:.1f} VRT | {'yes' if g > l else 'no'} |")

print()
print("| attacker's share | P(capture), honest draw | P(capture), author may withhold block N+1 |")
print("|---|---|---|")
for a in [0.10, 0.20, 0.33, 0.50]:
    p = capture(a)
    print(f"| {a:.2f} | {p:.3f} | {1 - (1 - p) ** 2:.3f} |")

print()
print("| AuditRate | expected loss per lie (fee saved: 0.02 VRT) | P(a liar escapes 10 lies) | P(escapes 100 lies) |")
print("|---|---|---|---|")
FEE = 0.02 * VRT
for rate in [0.001, 0.01, 0.05, 0.10, 0.25, 1.0]:
    loss = rate * EXECUTOR_SLASH * EXECUTOR_STAKE
    print(f"| {rate:g} | {loss:.2f} VRT ({loss / FEE:,.0f}x the fee) | {(1 - rate) ** 10:.3f} | {(1 - rate) ** 100:.2e} |")
