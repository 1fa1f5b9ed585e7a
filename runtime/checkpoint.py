"""Binomial checkpointing (Griewank's revolve) as a schedule the generated kernel asks for its next action.

A checkpointed loop's primal sweep stores the loop's state at the steps `snapshot_due` picks; its
reverse sweep then repeats `action(ck)` and does what it answers, a set of these bits in this order:

    RESTORE   load the state stored in slot ck[DEPTH]
    ADVANCE   run the primal steps ck[FROM] .. ck[CUR] - 1, recording nothing; after each step n below
              ck[STORED], store the state reached (that of step n + 1) in slot ck[DEPTH] + 1 + n - ck[FROM]
    SNAPSHOT  store the state (now that of step ck[CUR]) in slot ck[DEPTH]
    LEAF      reverse the steps ck[FIRST] .. ck[END] - 1, from the last back: the last from the state at
              hand, each other from slot ck[DEPTH] + step - ck[FROM]; once more recording, then its adjoint
    DONE      every step's adjoint has run

Near the leaves the binomial schedule either stores the state after every step, then restores it before
each reversed step (the steps left are at most two more than the free slots), or, with no slot free,
advances from the one stored state to each step in turn. The kernel does the first in one answer
(ADVANCE | LEAF over all the steps left) and the second in one answer a step (RESTORE | ADVANCE | LEAF
of the last), where asking step by step would take two or three: an answer costs a few ns, more than a
cheap step (an IIR's takes 2 ns). The steps run and the states stored are the binomial schedule's.

Each split point is the binomial optimum (Griewank and Walther, "Algorithm 799: revolve", 2000): with c
stored states and t the least repetition number with beta(c, t) = C(c + t, c) >= l, reversing l steps
costs t*l - beta(c + 1, t - 1) primal steps, the fewest any schedule with c states can take. The state
is one int64 array, so a schedule for any number of steps known only at run time takes O(c) memory.
"""
from __future__ import annotations

import numba
import numpy as np

RESTORE, ADVANCE, SNAPSHOT, LEAF, DONE = 1, 2, 4, 8, 16
# fields of the schedule array; the positions of the stored states follow them
SLOTS, TRIPS, DEPTH, END, CUR, NEXT, FROM, PHASE, RECOMPUTED, USED, STORED, FIRST = range(12)
FIELDS = 12


@numba.njit(cache=True)
def binomial(c, t):
    """C(c + t, c) for t >= 0, and 0 for t < 0."""
    if t < 0:
        return 0
    b = 1
    for k in range(1, t + 1):
        b = b * (c + k) // k
    return b


@numba.njit(cache=True)
def optimal_cost(steps, states):
    """The fewest primal steps that reverse `steps` steps with `states` stored states (one of them the first)."""
    if steps <= 1:
        return 0
    if states == 1:
        return steps * (steps - 1) // 2
    t = 0
    while binomial(states, t) < steps:
        t += 1
    return t * steps - binomial(states + 1, t - 1)


@numba.njit(cache=True, inline="always")
def split(steps, states):
    """How far to advance before storing the next state, reversing `steps` >= 2 steps with `states` >= 2
    stored states: the first part is then reversed with all of them, the rest with one fewer."""
    if steps <= states + 1:  # t = 1, beta(states, 0) = 1: the common case near the end of a descent, no division
        return 1
    t = 0
    b = 1
    while b < steps:
        t += 1
        b = b * (states + t) // t
    m = min(binomial(states, t - 1), steps - binomial(states - 1, t - 1))
    return max(m, 1)


@numba.njit(cache=True)
def schedule(trips, snapshots):
    """A fresh schedule for `trips` steps and `snapshots` stored states (the loop's initial state is one)."""
    if snapshots < 1:
        raise ValueError("adc.checkpoint needs snapshots >= 1 (the loop's initial state takes one)")
    ck = np.zeros(FIELDS + snapshots, np.int64)
    ck[SLOTS] = snapshots
    ck[TRIPS] = trips
    ck[DEPTH] = -1
    ck[END] = trips
    ck[NEXT] = 0 if trips > 0 else -1
    return ck


@numba.njit(cache=True, inline="always")  # a call per step otherwise costs more than the step
def snapshot_due(ck, step):
    """In the primal sweep, at the start of step number `step`: whether to store the state now, in slot
    ck[DEPTH] (the first of the reverse sweep's descents, done by the primal for free)."""
    if step != ck[NEXT]:
        return False
    _push(ck, step)
    free = ck[SLOTS] - 1 - ck[DEPTH]
    left = ck[TRIPS] - step
    ck[NEXT] = step + split(left, free + 1) if left > 1 and free > 0 else -1
    return True


@numba.njit(cache=True, inline="always")  # a call per step otherwise costs more than the step
def _push(ck, step):
    ck[DEPTH] += 1
    ck[FIELDS + ck[DEPTH]] = step
    ck[CUR] = step
    ck[USED] = max(ck[USED], ck[DEPTH] + 1)


@numba.njit(cache=True, inline="always")  # a call per step otherwise costs more than the step
def action(ck):
    """The reverse sweep's next actions (see the module docstring)."""
    done = 0
    if ck[PHASE] == 3:  # the steps from ck[FIRST] on are reversed: those before it are left
        ck[END] = ck[FIRST]
        if ck[DEPTH] >= 0 and ck[FIELDS + ck[DEPTH]] == ck[END]:
            ck[DEPTH] -= 1
        ck[PHASE] = 0
    if ck[PHASE] == 0:
        if ck[END] <= 0:
            return DONE
        ck[CUR] = ck[FIELDS + ck[DEPTH]]
        ck[PHASE] = 1
        done = RESTORE
    left = ck[END] - ck[CUR]
    ck[FROM] = ck[CUR]
    ck[STORED] = ck[CUR]
    free = ck[SLOTS] - 1 - ck[DEPTH]
    if left <= free + 2 or free == 0:  # a leaf (module docstring): the state at hand is the one in slot ck[DEPTH]
        ck[CUR] = ck[END] - 1
        ck[RECOMPUTED] += ck[CUR] - ck[FROM]
        if left <= free + 2:
            ck[STORED] = ck[END] - 2
            ck[FIRST] = ck[FROM]
            ck[USED] = max(ck[USED], ck[DEPTH] + max(left - 1, 1))
        else:
            ck[FIRST] = ck[CUR]
        ck[PHASE] = 3
        return done | (ADVANCE if left > 1 else 0) | LEAF
    if done:  # (a store after an advance names another slot than the restore)
        return done
    ck[CUR] += split(left, free + 1)
    ck[RECOMPUTED] += ck[CUR] - ck[FROM]
    _push(ck, ck[CUR])
    return ADVANCE | SNAPSHOT


@numba.njit(cache=True)
def array_slots(snapshots, a):
    """Room for `snapshots` stored copies of array a (each slot replaced by a copy when stored)."""
    return [a for _ in range(snapshots)]


# fields of the statistics array a checkpointed gradient fills (f.last_stats())
TAPE_BYTES, SNAPSHOT_BYTES, SNAPSHOTS_USED, STEPS_RECOMPUTED = range(4)


@numba.njit(cache=True)
def slots_nbytes(slots):
    """The bytes of the stored copies of an array."""
    total = 0
    for a in slots:
        total += a.nbytes
    return total
