"""numpy's signal helpers inside differentiated code: the windows (constants of their length; kaiser
differentiable in beta), np.interp (in x, the segment's slope, zero where numpy clamps; in fp, the
hat weights; xp is data) and np.unwrap (the identity: the multiples of the period it adds are
piecewise constant). Each program passes the fuzzer's oracle with `strict=True` (primal against plain
Python, grad against central differences, the jvp/vjp dot test, hvp, numba against python)."""
import numpy as np
import pytest
from fuzz.oracle import Case, check_case

import adc
from adc import runtime as rt

HEADER = "import math\nimport numpy as np\n\n\n"
rng = np.random.default_rng(11)
KNOTS = np.sort(rng.uniform(-2.0, 2.0, 7))


def between_knots(*shape):
    """Query points at least 0.05 from every knot (finite differences must not cross a kink), some outside."""
    x = rng.uniform(-2.6, 2.6, shape)
    while (near := np.min(np.abs(x[..., None] - KNOTS), axis=-1) < 0.05).any():
        x = np.where(near, rng.uniform(-2.6, 2.6, shape), x)
    return x


PROGRAMS = {  # name: (source, arguments, wrt)
    "windows": ("""
def main(x):
    n = x.shape[0]
    w = np.hanning(n) + 2.0 * np.hamming(n) - np.blackman(n) + np.bartlett(n) * np.kaiser(n, 5.0)
    return np.sum(w * x * x)
""", (rng.standard_normal(8),), ("x",)),
    "kaiser_in_beta": ("""
def main(x, beta):
    w = np.kaiser(x.shape[0], beta)
    return np.sum(w * x * x) + np.sum(np.kaiser(7, 2.0 * beta) ** 2) * beta
""", (rng.standard_normal(9), 3.5), ("x", "beta")),
    "window_written_into": ("""
def main(x, beta):
    w = np.kaiser(x.shape[0], beta)
    w[1] = x[0] * w[2]
    v = np.hanning(5)
    v[0] = beta
    return np.sum(w * x * x) + np.sum(v * v)
""", (rng.standard_normal(6), 2.5), ("x", "beta")),
    "interp_in_x_and_fp": ("""
def main(x, fp, xp):
    y = np.interp(x, xp, fp)
    return np.sum(y * y * np.sin(x))
""", (between_knots(11), rng.standard_normal(7), KNOTS), ("x", "fp")),
    "interp_of_a_number": ("""
def main(s, fp, xp):
    return np.interp(s, xp, fp) ** 3 + np.interp(2.0 * s, xp, fp * fp)
""", (0.37, rng.standard_normal(7), KNOTS), ("s", "fp")),
    "interp_of_a_matrix": ("""
def main(m, fp, xp):
    return np.sum(np.interp(m, xp, fp) ** 2 * m)
""", (between_knots(3, 4), rng.standard_normal(7), KNOTS), ("m", "fp")),
    "interp_complex_values": ("""
def main(x, fp, xp):
    z = np.interp(x, xp, fp * (1.0 + 2.0j) + fp * fp)
    return np.sum(np.abs(z) ** 2 * x)
""", (between_knots(6), rng.standard_normal(7), KNOTS), ("x", "fp")),
    "unwrap": ("""
def main(p):
    q = np.unwrap(3.0 * p)
    return np.sum(q * q) + np.sum(np.unwrap(p, 2.5, period=5.0) ** 3)
""", (np.cumsum(rng.standard_normal(9)),), ("p",)),
    "unwrap_computed_discont": ("""
def main(p, d):
    return np.sum(np.sin(np.unwrap(p * p, d + 3.5)) * p)
""", (np.cumsum(rng.standard_normal(8)), 0.2), ("p", "d")),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_passes_the_oracle(name):
    src, args, wrt = PROGRAMS[name]
    check_case(Case(HEADER + src.lstrip("\n"), args, wrt, numba=True, hvp=True), strict=True)


def windows(m, beta):
    return np.hanning(m), np.hamming(m), np.blackman(m), np.bartlett(m), np.kaiser(m, beta)


@pytest.mark.parametrize("m", [0, 1, 2, 7, 8])
def test_windows_are_numpys(m, backend):
    got = adc.differentiate(windows, wrt=("beta",), backend=backend)(m, 4.0)
    for a, b in zip(got, windows(m, 4.0)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("m, beta", [(1, 3.0), (2, 0.0), (7, -2.0), (8, 14.0)])
def test_kaiser_derivatives_in_beta(m, beta):
    """Each order is the central difference of the one before; order 0 is np.kaiser."""
    h = 1e-5
    np.testing.assert_allclose(rt.kaiser_derivative(m, beta, 0), np.kaiser(m, beta), rtol=1e-13, atol=1e-15)
    for order in (1, 2, 3):
        fd = (rt.kaiser_derivative(m, beta + h, order - 1) - rt.kaiser_derivative(m, beta - h, order - 1)) / (2 * h)
        np.testing.assert_allclose(rt.kaiser_derivative(m, beta, order), fd, rtol=1e-6, atol=1e-8)


def test_interp_transposes_are_the_transposed_matrices():
    """rt.interp_transpose against the matrices of fp -> np.interp(x, xp, fp) and fp -> rt.interp_slopes(x, xp, fp)."""
    x, g = between_knots(9), rng.standard_normal(9)
    eye = np.eye(KNOTS.size)
    values = np.stack([np.interp(x, KNOTS, e) for e in eye], axis=1)
    slopes = np.stack([rt.interp_slopes(x, KNOTS, e) for e in eye], axis=1)
    for helper in (rt.interp_transpose, rt.interp_transpose.py_func):
        np.testing.assert_allclose(helper(g, x, KNOTS, KNOTS.size, False), values.T @ g, atol=1e-14)
        np.testing.assert_allclose(helper(g, x, KNOTS, KNOTS.size, True), slopes.T @ g, atol=1e-13)


def interp_loss(x, fp, xp):
    return np.sum(np.interp(x, xp, fp) * x)


def test_interp_is_flat_where_numpy_clamps(backend):
    """Outside [xp[0], xp[-1]] the value is an end value: no derivative in x, all of fp's to that end knot."""
    x, fp = np.array([-3.0, 3.0]), rng.standard_normal(KNOTS.size)
    gx, gfp = adc.differentiate(interp_loss, wrt=("x", "fp"), backend=backend).grad(x, fp, KNOTS)
    np.testing.assert_allclose(gx, [fp[0], fp[-1]])  # the loss's own factor x only
    np.testing.assert_allclose(gfp, np.eye(KNOTS.size)[0] * -3.0 + np.eye(KNOTS.size)[-1] * 3.0)


def interp_with_left(x, fp, xp):
    return np.sum(np.interp(x, xp, fp, left=0.0))


def test_interp_left_and_right_are_refused():
    f = adc.differentiate(interp_with_left, wrt=("x",), backend="python")
    with pytest.raises(adc.CompileError, match="unsupported keyword argument `left`"):
        f(np.ones(3), np.ones(4), np.arange(4.0))
