"""`for t in adc.checkpoint(range(N), snapshots=s):` marks a loop for binomial checkpointing.

In the primal, and called as plain Python, it is `range(N)`. In reverse mode the loop keeps no tape
across steps: its primal stores the loop's state (its carried values and the arrays its steps write
and later steps read) at `s` steps a binomial schedule picks, and the reverse sweep recomputes each
segment from the nearest stored state (adc/runtime/checkpoint.py, docs/checkpointing.md).
"""
from __future__ import annotations

AUTO_SNAPSHOTS = 64  # what `differentiate(..., checkpoint="auto")` gives each loop it checkpoints


def checkpoint(steps: range, snapshots: int = AUTO_SNAPSHOTS) -> range:
    if not isinstance(steps, range):
        raise TypeError("adc.checkpoint(steps, snapshots=s) takes a range(...)")
    if not isinstance(snapshots, int) or snapshots < 1:
        raise ValueError("adc.checkpoint needs snapshots >= 1 (the loop's initial state takes one)")
    return steps
