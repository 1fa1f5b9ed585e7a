"""Programs the fuzzer (tests/fuzz/, fuzz.py) found adc getting wrong, shrunk, kept as regression tests.

Each entry is the shrunk source, its arguments and `wrt` (and whether the hvp and numba checks run),
checked by the same oracle as the fuzzer with `strict=True` (a refusal fails too). `expect` is
the failure kind the bug shows as; while the bug is open (`bug` names it in tests/fuzz/known.py)
the test is xfail(strict=True): it must fail with that kind, and passing (XPASS) fails the run, so
a fix shows up here. When a bug is fixed, set its entries' `bug` to None (they then must pass) and
delete it from known.py, so that the CI fuzz tests stop tolerating it.

To add a failure found by `python fuzz.py`: copy the `Case(...)` from its file in OUT/failures/.
pytest collects this module through tests/test_fuzz.py; `pytest tests/fuzz_regressions.py` runs it alone.
"""
from dataclasses import dataclass

import numpy as np
import pytest
from fuzz.known import KNOWN_BUGS
from fuzz.oracle import Case, FuzzFailure, check_case

BUGS = {b.name: b for b in KNOWN_BUGS}


@dataclass
class Regression:
    name: str
    expect: str  # the failure kind (FuzzFailure.kind) the bug shows (or showed) as
    bug: str | None  # the open bug in tests/fuzz/known.py; None once fixed
    note: str = ""  # what was wrong, for fixed bugs
    case: Case = None


class WrongFailure(Exception):
    """The program fails, but not as the bug it pins: something else broke."""


REGRESSIONS = [
    Regression(
        "grad_of_unused_array_is_0d", "grad-shape", None,
        note=("inactive-array-gradient-0d: "
              "grad w.r.t. an array argument the result does not depend on was a 0-d array(0.), not zeros "
              "of its shape"),
        case=Case(
            source='''\
import numpy as np


def main(x):
    n = x.shape[0]
    s0 = 0.0
    s0 += 0.5
    return s0
''',
            args=(np.array([0.12573, -0.132105]),),
            wrt=('x',),
            hvp=False, numba=False, seed=0,
        ),
    ),
    Regression(
        "jvp_argument_outside_wrt_written", "crash:jvp:NameError", None,
        note=("forward-undefined-tangent-of-written-argument: "
              "forward mode (jvp, and hvp through it) wrote the tangent of an argument array outside wrt "
              "that receives active values without creating it: NameError `<arg>__dot`"),
        case=Case(
            source='''\
import numpy as np


def main(x, y, w):
    n = x.shape[0]
    s0 = 0.0
    x[0] = y[0]
    return s0 + np.sum(x * x)
''',
            args=(np.array([0.12573, -0.132105]), np.array([0.640423, 0.1049]), np.array([-0.535669, 0.361595])),
            wrt=('y',),
            hvp=False, numba=False, seed=0,
        ),
    ),
    Regression(
        "hvp_argument_outside_wrt_written", "crash:hvp:NameError", None,
        note=("forward-undefined-tangent-of-written-argument: "
              "forward mode (jvp, and hvp through it) wrote the tangent of an argument array outside wrt "
              "that receives active values without creating it: NameError `<arg>__dot`"),
        case=Case(
            source='''\
import numpy as np


def main(x, y, w, a):
    n = x.shape[0]
    s0 = 0.0
    w[0] = a
    return s0 + np.sum(w * w)
''',
            args=(np.array([0.12573, -0.132105]), np.array([0.640423, 0.1049]), np.array([-0.535669, 0.361595]), 0.319907),
            wrt=('a',),
            hvp=True, numba=False, seed=0,
        ),
    ),
    Regression(
        "jvp_in_place_update_of_argument", "jvp-vjp", None,
        note=("forward-in-place-element-update: "
              "forward mode differentiated `a[i] = g(a[i], ...)` with the new a[i] in place of the old one "
              "(tangent stored after the primal store): jvp disagreed with vjp"),
        case=Case(
            source='''\
import numpy as np


def main(x):
    n = x.shape[0]
    s0 = 0.0
    s0 += x[0]
    x[0] = x[0] * s0
    return s0 + np.sum(x * x)
''',
            args=(np.array([0.12573, -0.132105]),),
            wrt=('x',),
            hvp=False, numba=False, seed=0,
        ),
    ),
    Regression(
        "jvp_in_place_update_of_local_copy", "jvp-vjp", None,
        note=("forward-in-place-element-update: "
              "forward mode differentiated `a[i] = g(a[i], ...)` with the new a[i] in place of the old one "
              "(tangent stored after the primal store): jvp disagreed with vjp"),
        case=Case(
            source='''\
import numpy as np


def main(x):
    n = x.shape[0]
    s0 = 0.0
    b0 = np.copy(x)
    b0[0] = b0[0] * x[0]
    return s0 + np.sum(b0 * b0)
''',
            args=(np.array([0.12573, -0.132105]),),
            wrt=('x',),
            hvp=False, numba=False, seed=0,
        ),
    ),
    Regression(
        "hvp_of_fft_power", "hvp-fd", None,
        note=("hvp-of-fft-power-doubled: "
              "hvp of sum(abs(fft(x))**2) was twice the finite differences of grad"),
        case=Case(
            source='''\
import numpy as np


def main(x):
    n = x.shape[0]
    s0 = 0.0
    X0 = np.fft.fft(x)
    return s0 + np.sum(np.abs(X0) ** 2)
''',
            args=(np.array([0.12573, -0.132105]),),
            wrt=('x',),
            hvp=True, numba=False, seed=0,
        ),
    ),
    Regression(
        "hvp_refuses_argument_update", "refused", None,
        note=("hvp-refuses-written-argument: "
              "hvp refused programs writing into a wrt argument array: 'a variable changes between scalar "
              "and array ... across a loop or branch' in the generated vjp"),
        case=Case(
            source='''\
import numpy as np


def main(x, y):
    n = x.shape[0]
    s0 = 0.0
    for i in range(n):
        x[i] = 0.5 * x[i] + 0.5
    return s0 + np.sum(x * x)
''',
            args=(np.array([0.12573, -0.132105]), np.array([0.640423, 0.1049])),
            wrt=('x',),
            hvp=True, numba=False, seed=0,
        ),
    ),
    Regression(
        "negative_constant_power", "primal", None,
        note=("negative-constant-power-printed-without-parentheses: "
              "`(-0.3) ** 2` was generated as `-0.3 ** 2` (= -0.09): wrong primal, value and derivatives"),
        case=Case(
            source='''\
import numpy as np


def main(x):
    n = x.shape[0]
    s0 = 0.0
    s0 += (-0.3) ** 2
    return s0
''',
            args=(np.array([0.12573, -0.132105]),),
            wrt=('x',),
            hvp=False, numba=False, seed=0,
        ),
    ),
    Regression(
        "while_zero_trips_constant_body", "grad-fd", None,
        note=("while-zero-trip-activity: "
              "a `while` loop whose body sets its condition variable to a constant made the variable "
              "inactive after the loop even when the loop ran zero times: zero gradient"),
        case=Case(
            source='''\
import numpy as np


def main(x):
    n = x.shape[0]
    s0 = 0.0
    s0 += x[0]
    k1 = 0
    while k1 < 4 and s0 < 0.1:
        k1 += 1
        s0 = s0 + 0.3 * np.tanh(0.5) + 0.2
        s0 = 0.5
    return s0
''',
            args=(np.array([0.12573, -0.132105]),),
            wrt=('x',),
            hvp=False, numba=False, seed=0,
        ),
    ),
    Regression(
        "refuses_write_after_whole_array_tanh", "refused", None,
        note=("refuses-write-to-array-made-by-whole-array-function: "
              "`b = np.tanh(x)` then `b[0] = ...` was refused as 'read as a whole array here and written to "
              "afterwards' (the tanh adjoint needed b's old contents)"),
        case=Case(
            source='''\
import numpy as np


def main(x):
    n = x.shape[0]
    s0 = 0.0
    b0 = np.tanh(x)
    b0[0] = 0.5
    return s0 + np.sum(b0 * b0)
''',
            args=(np.array([0.12573, -0.132105]),),
            wrt=('x',),
            hvp=False, numba=False, seed=0,
        ),
    ),
    Regression(
        "augmented_element_write_through_helper_writing_the_array", "grad-fd", None,
        note=("helper-writes-array-in-augmented-assignment: "
              "`w[-1] += helper0(w, u)` where the inlined helper writes w was treated as a plain "
              "increment: Python reads the old w[-1] before the call, adc's adjoint used the new one "
              "(found on a9ab850, fixed in 4943931)"),
        case=Case(
            source='''\
import numpy as np


def helper0(v, u):
    for i in range(v.shape[0]):
        v[i] = v[i] * np.tanh(u + v[i])
    return v[0]


def main(w, y):
    w[-1] += helper0(w, y[0])
    return np.sum(w * w)
''',
            args=(np.array([0.977567, -0.310557, -0.328824]), np.array([1.144166, -0.325423])),
            wrt=('w', 'y'),
            hvp=True, numba=False, seed=2,
        ),
    ),
    Regression(
        "reverse_order_of_parameter_update_in_loop", "grad-fd", None,
        note=("reverse-order-of-parameter-update-in-loop: "
              "in a loop body updating a scalar argument from a carried value (`a += s0`) and then that "
              "value (`s0 = 0.5 * s0 + 0.5`), the reverse sweep added into s0's adjoint before s0's own "
              "adjoint read it: the gradient through `a` missed the later update (found on 2053f80, fixed "
              "in c42db11)"),
        case=Case(
            source='''\
import numpy as np


def main(x, a):
    n = x.shape[0]
    s0 = 0.0
    s0 += np.sum(x)
    for i in range(n):
        a += s0
        s0 = 0.5 * s0 + 0.5
    s0 += a
    return s0
''',
            args=(np.array([0.12573, -0.132105]), -1.377079),
            wrt=('x',),
            hvp=False, numba=False, seed=0,
        ),
    ),
    Regression(
        "short_circuit_read_past_the_end", "bounds-false:primal", None,
        note=("`a < 0.1 and x[n] > 0.1`: the element on the right of `and` was read (and its bounds checked) "
              "even where the left side decided, so adc raised OutOfBounds where Python never reads x[n]; "
              "an operand that reads memory now runs inside an `if`, as one that writes did"),
        case=Case(
            source='''\
import numpy as np


def main(x, y, a):
    n = x.shape[0]
    s0 = 0.0
    if a < 0.1 and x[n] > 0.1:
        s0 += 0.5
    return s0 + np.sum(y * y)
''',
            args=(np.array([0.12573, -0.132105]), np.array([0.640423, 0.1049]), 0.939811),
            wrt=('x',),
            hvp=False, numba=False, seed=0,
        ),
    ),
    Regression(
        "tape_popped_by_a_loop_run_forwards", "grad-fd", None,
        note=("a reversed inner loop whose statements only add into adjoints ran forwards (iterations_commute), "
              "but it also popped a tape (`top = top - 1`, LIFO), so iteration j read the value pushed by "
              "iteration n - 1 - j: the adjoint of x[j] went to x[n - 1 - j]. A statement that reads the "
              "variable it sets now keeps the loop reversed"),
        case=Case(
            source='''\
import numpy as np


def main(x):
    n = x.shape[0]
    s0 = 0.0
    for i in range(n):
        for j in range(n):
            s0 += np.sin(x[j])
    x[0] = 0.5
    return s0 + np.sum(x * x)
''',
            args=(np.array([0.12573, -0.132105]),),
            wrt=('x',),
            hvp=False, numba=True, seed=0,
        ),
    ),
    Regression(
        "checkpointed_step_reads_an_argument_written_later", "grad-fd", None,
        note=("a checkpointed loop's recomputed steps read `np.sum(x)` from the argument x as the code after the "
              "loop left it (x[0] = 0.5), not as the loop saw it: arrays the steps read that anything writes from the "
              "loop on are now part of the stored state (the lookup had missed the function's parameters)"),
        case=Case(
            source='''\
import numpy as np

import adc


def main(x, a):
    n = x.shape[0]
    s0 = 0.0
    for i in adc.checkpoint(range(n), snapshots=1):
        a = a * np.tanh(np.sum(x))
    s0 += a
    x[0] = 0.5
    return s0 + np.sum(x * x)
''',
            args=(np.array([0.12573, -0.132105]), -1.377079),
            wrt=('x',),
            hvp=True, numba=True, seed=0,
        ),
    ),
    Regression(
        "checkpoint_state_is_memory_from_before_the_loop", "crash", None,
        note=("the stored state of a checkpointed loop took an array that may share the written argument's memory "
              "but is made after the loop (a branch's result): its slots were allocated before it existed (NameError)"),
        case=Case(
            source='''\
import numpy as np

import adc


def main(x):
    n = x.shape[0]
    s0 = 0.0
    s1 = 0.5
    for i in adc.checkpoint(range(n), snapshots=1):
        x[i] = np.sum(x) * x[i]
    if s0 > 0.1:
        x = 0.5 * x + x
    return s0 + s1 + np.sum(x * x)
''',
            args=(np.array([0.12573, -0.132105]),),
            wrt=('x',),
            hvp=True, numba=True, seed=0,
        ),
    ),
]


def _param(reg: Regression):
    marks = []
    if reg.bug is not None:
        marks.append(pytest.mark.xfail(strict=True, raises=FuzzFailure, reason=f"{reg.bug}: {BUGS[reg.bug].reason}"))
    return pytest.param(reg, id=reg.name, marks=marks)


@pytest.mark.parametrize("reg", [_param(r) for r in REGRESSIONS])
def test_fuzz_regression(reg: Regression):
    try:
        check_case(reg.case, strict=True)
    except FuzzFailure as failure:
        kinds = [f.kind for f in [failure] + failure.also]
        if reg.bug is not None and reg.expect not in kinds:
            raise WrongFailure(f"expected a {reg.expect} failure (bug {reg.bug}), got {kinds}:\n{failure}") from None
        raise
