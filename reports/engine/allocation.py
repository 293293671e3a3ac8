"""Allocation of an hour's shared energy to the members drawing in that hour.

Pro rata (default): every member PPE gets ``shared_h / drawn_h`` of its own draw.

Static keys: in each hour the keys of the members that draw in that hour are
normalised to 1 (a member that draws nothing gets nothing and its share goes to
the others); a member never gets more than it drew in that hour: what a capped
member cannot take is redistributed by the keys of the others (water-filling).
If every keyed member is capped and shared energy is left, the rest goes pro
rata to the remaining draw of all members, so the members' shares always add up
to the cluster's shared energy on which the statutory discount is computed.
"""

from __future__ import annotations

import numpy as np


def keys_allocate(*, shared_h: np.ndarray, member_drawn: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``float[n_members, n_hours]`` shared energy per member and hour.

    ``shared_h[h] ≤ Σ_m member_drawn[m, h]`` must hold (shared = min(fed, drawn)).
    """
    keys = np.clip(np.asarray(keys, dtype=np.float64), 0.0, None)
    drawn = np.asarray(member_drawn, dtype=np.float64)
    alloc = np.zeros_like(drawn)
    remaining = np.asarray(shared_h, dtype=np.float64).copy()
    free = (drawn > 0) & (keys[:, None] > 0)
    # Each round caps at least one member in every hour that still overflows,
    # so n_members rounds always suffice; in practice it ends after a few.
    for _ in range(drawn.shape[0] + 1):
        weights = np.where(free, keys[:, None], 0.0)
        total = weights.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            offer = np.where(total > 0, remaining / total, 0.0) * weights
        room = drawn - alloc
        over = free & (offer > room)
        if not over.any():
            alloc += offer
            remaining -= offer.sum(axis=0)
            break
        capped = np.where(over, room, 0.0)
        alloc += capped
        remaining -= capped.sum(axis=0)
        free &= ~over
    remaining = np.clip(remaining, 0.0, None)
    if remaining.max(initial=0.0) > 1e-6:
        room = drawn - alloc
        room_total = room.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            alloc += np.where(room_total > 0, remaining / room_total, 0.0) * room
    return alloc
