"""Faults injected on demand into Autotask routes (never into the `/_sandbox/` admin path).

Spec (CLI `--faults`, or `PUT /_sandbox/faults` as `{"spec": "..."}` or `{"429": 0.02, ...}`):
comma-separated `KIND:PROBABILITY[@MILLISECONDS]` with KIND one of
  429    rate-limit answer with `Retry-After` (seconds, default 1: `429:0.1@3000` -> 3 s)
  500    server error with an `{"errors": [...]}` body
  reset  the connection is aborted without any response, before the request is processed
  reset-after  the request is processed (a write is committed), then the connection is
         aborted: "committed, but the response was lost"
  slow   the answer is delayed by MILLISECONDS (default 2000)
e.g. `429:0.02,500:0.01,reset:0.005,slow:0.01@2000`. Draws come from a `random.Random(seed)`,
so a given seed and request order give the same faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

KINDS = ("429", "500", "reset", "reset-after", "slow")
DEFAULT_MS = {"429": 1000, "500": 0, "reset": 0, "reset-after": 0, "slow": 2000}


@dataclass(frozen=True)
class Fault:
    kind: str
    probability: float
    ms: int


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed; the message says what is wrong."""


def parse_spec(spec: Any) -> list[Fault]:
    """Parse the string form or a JSON object form into faults."""
    if spec is None or spec == "" or spec == {}:
        return []
    if isinstance(spec, dict):
        if "spec" in spec:
            return parse_spec(spec["spec"])
        spec = ",".join(f"{k}:{v}" for k, v in spec.items())
    if not isinstance(spec, str):
        raise FaultSpecError(f"Fault spec must be a string like '429:0.02,reset:0.01', got {spec!r}.")
    faults = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, rest = part.partition(":")
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise FaultSpecError(f"Unknown fault kind {kind!r} in {part!r}; use one of {', '.join(KINDS)}.")
        prob_text, _, ms_text = rest.partition("@")
        try:
            probability = float(prob_text)
            ms = int(ms_text) if ms_text else DEFAULT_MS[kind]
        except ValueError as exc:
            raise FaultSpecError(
                f"Bad fault {part!r}: expected KIND:PROBABILITY[@MS], e.g. slow:0.1@2000."
            ) from exc
        if not 0 <= probability <= 1 or ms < 0:
            raise FaultSpecError(f"Bad fault {part!r}: probability must be 0..1 and ms >= 0.")
        faults.append(Fault(kind, probability, ms))
    return faults


class FaultPlan:
    """Decides, request by request, which fault (if any) to inject."""

    def __init__(self, spec: Any = None, seed: int = 1):
        self.faults = parse_spec(spec)
        self.rng = random.Random(seed)
        self.spec = spec

    def draw(self) -> Fault | None:
        if not self.faults:
            return None
        roll = self.rng.random()
        for fault in self.faults:
            if roll < fault.probability:
                return fault
            roll -= fault.probability
        return None

    def describe(self) -> list[dict[str, Any]]:
        return [{"kind": f.kind, "probability": f.probability, "ms": f.ms} for f in self.faults]
