"""A simulated bank gateway: it takes debit requests now and answers them later.

Real gateways confirm card debits asynchronously through a callback; this one keeps the
requests in a queue until `SimulatedBank.deliver` sends every answer, which is how tests
and the demo drive "the bank answered" at a moment of their choosing. A seeded share of
requests is declined, so failed payments show up in a simulated history too.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SimulatedBank:
    decline_rate: float = 0.0
    seed: int = 0
    pending: list[tuple[str, int]] = field(default_factory=list)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def request_debit(self, *, reference: str, amount: int) -> None:
        self.pending.append((reference, amount))

    def deliver(self, answer: Callable[[str, bool], object]) -> int:
        """Send every queued answer through ``answer(reference, succeeded)``; return how many."""
        queued, self.pending = self.pending, []
        for reference, _amount in queued:
            answer(reference, self._random.random() >= self.decline_rate)
        return len(queued)
