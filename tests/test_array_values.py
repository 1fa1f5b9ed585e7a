"""Arrays as values in reverse mode ([1/10]): reads of arrays written later, views, arrays carried by loops.

Each program runs through the fuzzer's oracle (tests/fuzz/oracle.py) with `strict=True`: the primal
equals plain Python, `grad` matches central finite differences, the jvp/vjp dot-product test holds,
`hvp` (forward mode over the generated adjoint) matches finite differences of `grad`, and the numba
backend agrees with the python backend. A refusal fails the test.
"""
import numpy as np
import pytest
from fuzz.oracle import Case, check_case

HEADER = "import math\nimport numpy as np\n\n\n"
rng = np.random.default_rng(7)


def vec(n):
    return np.round(rng.standard_normal(n), 3)


def mat(r, c):
    return np.round(rng.standard_normal((r, c)), 3)


# name: (source, arguments, wrt)
WRITTEN_AFTER_READ = {
    # the smallest case: the slice's adjoint came from the array's final contents
    "slice_then_write": ("""
def main(x):
    a = np.sum(x[1:] ** 2)
    x[1] = 0.0
    return a
""", (vec(4),), ("x",)),
    "named_view_then_write": ("""
def main(x):
    y = x[1:]
    a = np.sum(y ** 2)
    x[1] = 0.0
    return a
""", (vec(5),), ("x",)),
    "view_read_after_write_sees_it": ("""
def main(x):
    y = x[1:]
    x[1] = 0.5 * x[2]
    return np.sum(y ** 2)
""", (vec(5),), ("x",)),
    "store_through_a_view": ("""
def main(x):
    y = x[1:]
    y[0] = 3.0 * y[1]
    return np.sum(x * x)
""", (vec(4),), ("x",)),
    "step_slice_then_write": ("""
def main(x):
    a = np.sum(x[::2] * x[1::2])
    x[0] = 2.0 * x[3]
    return a + x[0]
""", (vec(6),), ("x",)),
    "local_array_slices": ("""
def main(x):
    z = np.sin(x)
    a = np.sum(z[:-1] * z[1:])
    z[0] = 2.0
    return a + np.sum(z)
""", (vec(6),), ("x",)),
    "matrix_row": ("""
def main(m):
    a = np.sum(m[0, :] ** 2)
    m[0, 1] = 0.0
    return a
""", (mat(3, 3),), ("m",)),
    "matrix_transpose": ("""
def main(m):
    a = np.sum(m.T * m.T)
    m[0, 1] = 0.0
    return a
""", (mat(3, 3),), ("m",)),
    "fuzzer_program_1": ("""
def main(x, a):
    s = 0.07 * np.sum(a * x[:-1] + x[1:])
    for i in range(1, x.shape[0]):
        x[i] = 0.35 * x[i] + 0.2 * math.tanh(x[i - 1] * a)
    return math.tanh(s) + np.sum(x)
""", (vec(8), 0.7), ("x", "a")),
    "fuzzer_program_2": ("""
def main(x, a):
    s = 0.1 * np.dot(a * x[:-1], np.exp(-0.5 * x[:-1] ** 2))
    for i in range(3):
        x[i] = 0.61 * x[i] + 0.46 * a
    return s + x[0]
""", (vec(9), 0.7), ("x", "a")),
    "lms_with_slices": ("""
def main(w, x, d):
    loss = 0.0
    for n in range(4, x.shape[0]):
        e = d[n] - np.dot(w[0:4], x[n - 4:n])
        for k in range(4):
            w[k] = w[k] + 0.1 * e * x[n - 4 + k]
        loss += e * e
    return loss
""", (vec(4), vec(12), vec(12)), ("w", "x")),
    "slices_in_a_loop_that_writes": ("""
def main(x):
    s = 0.0
    for i in range(3):
        s += np.sum(x[1:] * x[:-1])
        x[i] = 0.5 * x[i + 1]
    return s
""", (vec(6),), ("x",)),
    "reduction_in_a_loop_that_writes": ("""
def main(x):
    acc = 0.0
    for i in range(x.shape[0]):
        s = np.sum(x)
        acc += s * s
        x[i] = 0.5 * x[i]
    return acc
""", (vec(5),), ("x",)),
    "dot_into_its_own_operand": ("""
def main(x, b0):
    b0[0] = np.dot(x, b0)
    return np.sum(b0 * b0)
""", (vec(4), vec(4)), ("x", "b0")),
    "sum_then_scale_in_place": ("""
def main(x):
    s = np.sum(x)
    for i in range(x.shape[0]):
        x[i] = s * x[i]
    return np.sum(x * x)
""", (vec(5),), ("x",)),
}

CARRIED_ARRAYS = {
    "leaky_whole_array_recurrence": ("""
def main(a, x):
    y = np.zeros(x.shape[0])
    for n in range(6):
        y = a * y + x
    return np.sum(y * y)
""", (0.8, vec(5)), ("a", "x")),
    "elementwise_map_iterated": ("""
def main(a, w):
    for k in range(4):
        a = np.sin(a ** 2 + w)
    return np.sum(a * a)
""", (vec(5), 0.3), ("a", "w")),
    "haar_three_levels": ("""
def main(x):
    s = x
    total = 0.0
    for level in range(3):
        approx = (s[0::2] + s[1::2]) / math.sqrt(2.0)
        detail = (s[0::2] - s[1::2]) / math.sqrt(2.0)
        total += np.sum(detail ** 2) * (level + 1)
        s = approx
    return total + np.sum(s ** 4)
""", (vec(16),), ("x",)),
    "kalman_two_state": ("""
def main(q, r, F, H, z):
    x = np.zeros(2)
    P = np.zeros((2, 2))
    P[0, 0] = 1.0
    P[1, 1] = 1.0
    Q = np.zeros((2, 2))
    Q[0, 0] = q
    Q[1, 1] = q
    nll = 0.0
    for k in range(z.shape[0]):
        x = F @ x
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + r
        s = S[0, 0]
        K = P @ H.T / s
        innov = z[k] - np.sum(H @ x)
        x = x + K[:, 0] * innov
        P = P - K @ H @ P
        nll += 0.5 * (math.log(s) + innov ** 2 / s)
    return nll
""", (0.1, 0.5, np.array([[1.0, 0.1], [0.0, 0.95]]), np.array([[1.0, 0.0]]), vec(10)), ("q", "r", "F", "H")),
    "unrolled_ista": ("""
def soft(v, t):
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def main(A, b, lam):
    x = np.zeros(A.shape[1])
    step = 0.1
    for k in range(5):
        x = soft(x + step * A.T @ (b - A @ x), lam * step)
    return np.sum((A @ x - b) ** 2) + lam * np.sum(np.abs(x))
""", (mat(6, 4), vec(6), 0.05), ("A", "b", "lam")),
    "carried_array_written_in_place": ("""
def main(x, c):
    y = x * 1.0
    for n in range(3):
        y = np.tanh(c * y)
        y[0] = y[1] * c
    return np.sum(y * x)
""", (vec(5), 0.9), ("x", "c")),
    "carried_array_in_a_while_loop": ("""
def main(x, c):
    y = x * c
    k = 0
    while k < 3:
        y = 0.5 * y + np.sin(y) * c
        k += 1
    return np.sum(y ** 2)
""", (vec(4), 0.7), ("x", "c")),
}

SLICE_WRITES = {
    "slice_of_a_local_from_an_expression": ("""
def main(x, a):
    y = np.zeros(x.shape[0])
    y[1:] = a * x[:-1]
    y[0] = x[0]
    return np.sum(y * y * x)
""", (vec(5), 0.7), ("x", "a")),
    "slice_increment_of_an_argument": ("""
def main(x, a):
    x[1:] += a * x[:-1]
    return np.sum(x ** 3)
""", (vec(5), 0.7), ("x", "a")),
    "in_place_add_through_a_view": ("""
def main(x, a):
    y = x[1:]
    y += a
    return np.sum(x ** 3)
""", (vec(5), 0.7), ("x", "a")),
    "in_place_accumulator_in_a_loop": ("""
def main(x, a):
    acc = np.zeros(x.shape[0])
    for k in range(3):
        acc += np.sin(a * x + k)
    return np.sum(acc ** 2)
""", (vec(5), 0.7), ("x", "a")),
    "rows_and_columns": ("""
def main(m, v):
    m[0, :] = v * 2.0
    m[:, 1] = np.tanh(m[:, 0])
    return np.sum(m * m)
""", (mat(3, 3), vec(3)), ("m", "v")),
    "scalar_into_a_slice": ("""
def main(x, a):
    x[2:] = a
    return np.sum(x ** 2) * a
""", (vec(5), 0.7), ("x", "a")),
    "shifted_slices_in_a_loop": ("""
def main(x, a):
    y = np.zeros(x.shape[0])
    for n in range(1, 4):
        y[n:] = y[n:] * a + x[:x.shape[0] - n]
    return np.sum(y ** 2)
""", (vec(6), 0.7), ("x", "a")),
}

FUZZER_FOUND = {  # found by the widened generator (tests/fuzz/gen.py), shrunk
    "while_result_loaded_after": ("""
def main(x):
    s0 = 0.0
    k1 = 0
    while k1 < 4 and s0 < 0.1:
        k1 += 1
        s0 = s0 + 0.3 * np.tanh(0.5) + 0.2
        x = 0.5 * x + x
    s0 += x[0]
    return s0
""", (np.array([0.12573, -0.132105]),), ("x",)),
    "while_in_a_for_both_rebinding_an_argument": ("""
def main(x):
    n = x.shape[0]
    s0 = 0.0
    s0 += x[0]
    for i in range(n):
        k1 = 0
        while k1 < 4 and s0 < 0.1:
            k1 += 1
            s0 = s0 + 0.3 * np.tanh(0.5) + 0.2
            x = 0.5 * x + x
        x = 0.5 * x + x
    return s0 + np.sum(x * x)
""", (np.array([0.12573, -0.132105]),), ("x",)),
    "array_made_and_written_in_a_branch_then_read": ("""
def helper0(v, u):
    for i in range(v.shape[0]):
        v[i] = np.tanh(v[i] + u)
    return v


def main(x, a, c):
    s0 = 0.0
    if c < a:
        s0 += 1.0
    else:
        s0 += np.dot(x, helper0(x * 1.0, 0.5))
    return s0
""", (np.array([-0.530103, -0.42672, -0.809756]), -0.903613, 0.149858), ("x",)),
    "carried_array_written_after_its_update": ("""
def main(x, a):
    b0 = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        b0 = np.sin(b0)
        b0[i] = a
    return np.sum(b0 * b0)
""", (np.array([0.12573, -0.132105, 0.4]), -1.377079), ("a",)),
    "view_of_a_view_in_a_helper": ("""
def helper0(v, u):
    return np.mean(np.sin(u * v[::2]))


def main(x):
    s0 = helper0(x[1:], 0.5)
    s0 += 0.5
    return s0
""", (vec(5),), ("x",)),
    "view_into_a_helper_in_a_branch": ("""
def helper0(v, u):
    acc = 0.0
    for i in range(v.shape[0]):
        acc = u * acc + np.tanh(v[i])
    return acc


def main(x):
    s0 = 0.0
    if x[0] > 0.1:
        s0 += helper0(x[1:], 0.5)
    return s0
""", (np.array([0.3, -0.132105, 0.4]),), ("x",)),
    "matrix_rebound_in_a_loop_rows_read": ("""
def main(x, A):
    for i in range(x.shape[0]):
        A = 0.5 * A + A
        x[i] = A[0, i]
    return np.sum(x * x)
""", (np.array([0.12573, -0.132105]), np.array([[0.640423, 0.1049]])), ("A",)),
    "while_in_a_for_rebinding_then_loaded": ("""
def main(x):
    n = x.shape[0]
    s0 = 0.5
    for i in range(n):
        k1 = 0
        while k1 < 4 and s0 < 0.1:
            k1 += 1
            s0 = s0 + 0.3 * np.tanh(0.5) + 0.2
            x = 0.5 * x + x
    s0 += x[0]
    return s0
""", (np.array([0.12573, -0.132105]),), ("x",)),
    "rebound_then_written_shape_from_scalars_not_recorded": ("""
def main(x, y):
    s0 = 0.0
    for i in range(x.shape[0]):
        s0 += 0.5
        x = np.tanh(0.5 * x) + y * s0
        x[i] = 0.5
    return s0 + np.sum(x * x)
""", (np.array([0.12573, -0.132105]), np.array([0.640423, 0.1049])), ("x",)),
    "tangent_of_a_sum_with_one_moving_slice_is_new_memory": ("""
def main(x, y):
    b0 = np.copy(x)
    b1 = b0[:2] + y[1:]
    b0[0] = 0.5
    return np.sum(b0 * b0) + np.sum(b1 * b1)
""", (np.array([0.12573, -0.132105, 0.640423]), np.array([0.1049, -0.535669, 0.361595])), ("x",)),
}

SECTION_3 = {
    "float_mod_and_floordiv": ("""
def main(x, c):
    return (x % c) * x + x // c
""", (1.7, 0.6), ("x", "c")),
    "phase_accumulator_mod": ("""
def main(w, x):
    phase = 0.0
    s = 0.0
    for n in range(x.shape[0]):
        phase = (phase + w) % (2 * np.pi)
        s += x[n] * math.sin(phase)
    return s
""", (0.9, vec(6)), ("w", "x")),
    "imag_of_a_real_array": ("""
def main(x):
    return np.sum(np.imag(x) + x * x)
""", (vec(4),), ("x",)),
    "jvp_of_scalar_plus_array": ("""
def main(x, a, y):
    return np.dot(x, a + y)
""", (vec(4), 0.3, vec(4)), ("x", "a")),
    "copy_of_a_value_a_nested_while_updates": ("""
def main(a):
    s0 = 0.0
    for i in range(2):
        while a < 0.1:
            a = a + 0.2
        s0 = a
        a += 0.5
    return s0 * a
""", (-1.377079,), ("a",)),
    "carried_unchanged_and_copied_each_step": ("""
def main(x, a):
    s0 = 0.0
    v0 = x[1:]
    for i in range(x.shape[0]):
        a = a
        s0 = a
    s0 += 0.5
    return s0 * a + np.sum(v0 * v0)
""", (np.array([0.12573, -0.132105]), -1.377079), ("x", "a")),
    "carried_array_whose_update_is_discarded": ("""
def main(x):
    b0 = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        b0 = np.sin(b0)
        b0[i] = 0.5
        b0 = x * 0.5
    return np.sum(b0 * b0)
""", (np.array([0.12573, -0.132105]),), ("x",)),
    "jvp_of_array_times_moving_scalar": ("""
def main(x, y):
    w = y[::-1] * x[1]
    return np.sum(w * w) + np.sum(x[0] - y)
""", (vec(4), vec(4)), ("x",)),
    "short_circuit_skips_a_writing_helper": ("""
def bump(y, k):
    y[k] = 2.0 * y[k]
    return y[k] > 0.0


def main(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[0] > 100.0 and bump(x, i):
            s += 1.0
        if x[0] < 100.0 or bump(x, i):
            s += x[i]
    return s * np.sum(x)
""", (vec(5),), ("x",)),
}


TABLES = {"read_then_written": WRITTEN_AFTER_READ, "carried": CARRIED_ARRAYS, "slice_write": SLICE_WRITES,
          "fuzzer_found": FUZZER_FOUND, "section3": SECTION_3}


@pytest.mark.parametrize("case", [
    pytest.param(Case(HEADER + src.lstrip("\n"), args, wrt, numba=True, hvp=True), id=f"{table}-{name}")
    for table, programs in TABLES.items() for name, (src, args, wrt) in programs.items()])
def test_program(case):
    check_case(case, strict=True)


ALIASED = """
def main(x, y):
    for i in range(x.shape[0]):
        x[i] = 0.5 * x[i] + y[i] * y[i]
    return np.sum(x)
"""


@pytest.mark.parametrize("overlap", ["same array", "shifted slices"])
def test_aliased_arguments_are_refused_by_derivatives_only(overlap):
    """f(z, z) writes one argument and reads the other: per-argument derivatives do not exist there."""
    from fuzz.oracle import load

    import adc
    main = load(HEADER + ALIASED.lstrip("\n")).main
    f = adc.differentiate(main, wrt=("x", "y"), backend="python")

    def aliased(z):
        return (z, z) if overlap == "same array" else (z[:-1], z[1:])
    z = vec(6)
    plain = z.copy()
    assert f(*aliased(z)) == pytest.approx(main(*aliased(plain)), rel=1e-12)  # the primal runs as Python does
    x, y = aliased(vec(6))
    for call in (lambda: f.grad(x, y), lambda: f.jvp(x, y, tangents=(np.ones_like(x), np.ones_like(y)))):
        with pytest.raises(ValueError, match="share memory.*writes into `x`.*copy"):
            call()
    f.grad(x.copy(), y.copy())  # copies are fine
