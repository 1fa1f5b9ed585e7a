"""Small dense linear algebra ([5/10]): np.linalg.solve/inv/det/slogdet/cholesky/eigh/eigvalsh, np.outer,
`@` and np.matmul on stacks, and the matrix Kalman filter as people write it.

Each program runs through the fuzzer's oracle with `strict=True`: the primal equals numpy's (LAPACK's),
`grad` matches central finite differences, the jvp/vjp dot-product test holds, and `hvp` (forward over the
generated adjoint) matches differences of `grad`. Closed forms check the solve's adjoint at a condition
number of 1e6, where differences say little.
"""
import os

import numpy as np
import pytest
from fuzz.oracle import Case, check_case, load

import adc

from checks import assert_grad_matches_fd

HEADER = "import math\nimport numpy as np\n\n\n"
rng = np.random.default_rng(5)
A = np.round(rng.standard_normal((4, 4)), 3) + 3.0 * np.eye(4)
B = np.round(rng.standard_normal((4, 2)), 3)
b = np.round(rng.standard_normal(4), 3)
LOWER = A @ A.T + np.triu(np.round(rng.standard_normal((4, 4)), 3), 1)  # SPD lower triangle, junk above it
STACK = np.round(rng.standard_normal((3, 4, 4)), 3)

PROGRAMS = {
    "solve_vector": ("def main(A, b):\n    x = np.linalg.solve(A, b)\n    return np.sum(x ** 2) + x[0]", (A, b), ("A", "b")),
    "solve_matrix": ("def main(A, B):\n    return np.sum(np.sin(np.linalg.solve(A, B)))", (A, B), ("A", "B")),
    "solve_of_a_solve": ("def main(A, b):\n    x = np.linalg.solve(A.T @ A, np.linalg.solve(A, b))\n    return x @ x",
                         (A, b), ("A", "b")),
    "inv": ("def main(A):\n    X = np.linalg.inv(A)\n    return np.sum(X * X) + X[1, 2]", (A,), ("A",)),
    "det": ("def main(A):\n    return np.linalg.det(A) + np.linalg.det(A @ A) ** 0.5", (A,), ("A",)),
    "slogdet": ("def main(A):\n    s, l = np.linalg.slogdet(A)\n    return s * l + np.linalg.slogdet(-A)[1] ** 2", (A,), ("A",)),
    "cholesky_of_a_product": ("def main(A):\n    L = np.linalg.cholesky(A @ A.T + np.eye(4))\n"
                              "    return np.sum(L * np.arange(16.0).reshape(4, 4))", (A,), ("A",)),
    "cholesky_reads_the_lower_triangle": ("def main(S):\n    return np.sum(np.sin(np.linalg.cholesky(S)))", (LOWER,), ("S",)),
    "cholesky_solves": ("def main(S, b):\n    L = np.linalg.cholesky(S)\n    y = np.linalg.solve(L, b)\n"
                        "    return y @ y + 2.0 * np.sum(np.log(np.diag(L)))", (LOWER, b), ("S", "b")),
    "eigvalsh": ("def main(S):\n    w = np.linalg.eigvalsh(S)\n    return np.sum(w ** 3) + w[0]", (LOWER,), ("S",)),
    "eigh_values_and_vectors": ("def main(A):\n    w, V = np.linalg.eigh(A + A.T)\n"
                                "    return np.sum(V ** 2 * np.arange(4.0)) + np.sum(np.abs(V[0]) * w)", (A,), ("A",)),
    "eigh_reconstruction": ("def main(S):\n    w, V = np.linalg.eigh(S)\n    return np.sum((V * np.exp(0.1 * w)) @ V.T)",
                            (LOWER,), ("S",)),
    "outer_and_trace": ("def main(a, b):\n    return np.sum(np.outer(a, b) ** 2) + np.trace(np.outer(a, a))",
                        (b, b[::-1].copy()), ("a", "b")),
    "stacks_of_matrices": ("def main(T, A):\n    return np.sum(np.sin(T @ A)) + np.sum(np.matmul(A, T) ** 2) + np.sum(T @ T)",
                           (STACK, A), ("T", "A")),
    "solve_in_a_loop_with_matrix_state": ("""
def main(A, b):
    x = np.zeros(4)
    M = np.eye(4)
    for k in range(3):
        M = M @ A * 0.5
        x = x + np.linalg.solve(M + np.eye(4), b * (k + 1))
    return np.sum(x ** 2)""", (A, b), ("A", "b")),
}
NO_HVP = {"eigh_values_and_vectors", "eigh_reconstruction"}  # second order through eigenvectors is refused
ON_NUMBA = {"solve_vector", "cholesky_solves", "eigh_values_and_vectors", "stacks_of_matrices"}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program(name):
    src, args, wrt = PROGRAMS[name]
    check_case(Case(HEADER + src.lstrip("\n") + "\n", args, wrt, numba=name in ON_NUMBA, hvp=name not in NO_HVP), strict=True)


def _conditioned(n, condition):
    q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return q1 @ np.diag(np.geomspace(1.0, 1.0 / condition, n)) @ q2


def test_solve_and_inv_at_condition_1e6_match_the_closed_form_adjoint():
    """L = w . A^-1 b:  b_bar = A^-T w,  A_bar = -b_bar x^T; solve and inv agree, and forward matches reverse."""
    module = load(HEADER + "def by_solve(A, b, w):\n    return w @ np.linalg.solve(A, b)\n\n\n"
                  "def by_inv(A, b, w):\n    return w @ (np.linalg.inv(A) @ b)\n")
    a, rhs, w = _conditioned(5, 1e6), rng.standard_normal(5), rng.standard_normal(5)
    assert np.linalg.cond(a) == pytest.approx(1e6, rel=1e-6)
    x, b_bar = np.linalg.solve(a, rhs), np.linalg.solve(a.T, w)
    for fn in (module.by_solve, module.by_inv):
        f = adc.differentiate(fn, wrt=("A", "b"), backend="python")
        value, (ga, gb) = f.value_and_grad(a, rhs, w)
        assert value == pytest.approx(w @ x, rel=1e-9)
        np.testing.assert_allclose(gb, b_bar, rtol=1e-8, atol=1e-8 * np.abs(b_bar).max())
        np.testing.assert_allclose(ga, -np.outer(b_bar, x), rtol=1e-8, atol=1e-8 * np.abs(ga).max())
        da, db = rng.standard_normal((5, 5)), rng.standard_normal(5)
        _, tangent = f.jvp(a, rhs, w, tangents=(da, db))
        assert tangent == pytest.approx(np.sum(ga * da) + gb @ db, rel=1e-8)


def test_complex_solve_inv_and_det():
    """Complex matrices (a beamformer's R^-1 a): the gradient convention dL/dRe + 1j dL/dIm, against differences."""
    module = load(HEADER + "def main(R, a):\n    w = np.linalg.solve(R, a)\n    X = np.linalg.inv(R)\n"
                  "    return np.abs(np.vdot(a, w)) + np.sum(np.abs(X) ** 2) + np.abs(np.linalg.det(R))\n")
    r = A + 1j * np.round(rng.standard_normal((4, 4)), 3)
    a = b + 0.5j
    for backend in ("python", "numba"):
        f = adc.differentiate(module.main, wrt=("R", "a"), backend=backend)
        assert f(r, a) == pytest.approx(module.main(r, a), rel=1e-12)
        assert_grad_matches_fd(module.main, (r, a), [0, 1], list(f.grad(r, a)), rtol=1e-7)


KALMAN = """
def kalman_nll(q, r, F, H, z):
    n = F.shape[0]
    Q = q * np.array([[1.0 / 3.0, 0.5], [0.5, 1.0]])
    x = np.zeros(n)
    P = np.eye(n)
    nll = 0.0
    for k in range(len(z)):
        x = F @ x
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + r
        K = P @ H.T @ np.linalg.inv(S)
        innov = z[k] - H @ x
        x = x + K @ innov
        P = (np.eye(n) - K @ H) @ P
        nll += 0.5 * (np.log(2 * np.pi * S[0, 0]) + innov[0] ** 2 / S[0, 0])
    return nll
"""

TRACKER = """
def tracker_nll(F, H, Lq, R, z):
    n = F.shape[0]
    Q = Lq @ Lq.T
    x = np.zeros(n)
    P = np.eye(n)
    nll = 0.0
    for k in range(z.shape[0]):
        x = F @ x
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + R
        K = np.linalg.solve(S, H @ P).T
        innov = z[k] - H @ x
        x = x + K @ innov
        P = (np.eye(n) - K @ H) @ P
        sign, logdet = np.linalg.slogdet(S)
        nll += 0.5 * (logdet + innov @ np.linalg.solve(S, innov) + 2.0 * np.log(2.0 * np.pi))
    return nll
"""


def test_the_kalman_filter_as_written():
    """The issue's program, unchanged: a 2-state filter with np.array, np.eye, np.linalg.inv, matrices as state."""
    z = np.round(rng.standard_normal(15), 3)
    f = np.array([[1.0, 1.0], [0.0, 1.0]])
    h = np.array([[1.0, 0.3]])
    check_case(Case(HEADER + KALMAN.lstrip("\n"), (0.1, 0.5, f, h, z), ("q", "r", "F", "H"), numba=True, hvp=True,
                    name="kalman_nll"), strict=True)


def test_a_four_state_tracker():
    """Constant velocity in 2-d, Q through a Cholesky factor, R a full 2x2 covariance."""
    dt = 1.0
    f = np.array([[1.0, 0, dt, 0], [0, 1.0, 0, dt], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    h = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    lq = np.tril(0.1 * np.round(rng.standard_normal((4, 4)), 3)) + 0.2 * np.eye(4)
    r = np.array([[0.5, 0.1], [0.1, 0.4]])
    z = np.cumsum(np.round(rng.standard_normal((12, 2)), 3), axis=0)
    check_case(Case(HEADER + TRACKER.lstrip("\n"), (f, h, lq, r, z), ("F", "H", "Lq", "R"), numba=True, hvp=False,
                    name="tracker_nll"), strict=True)


# -- what is refused or raised says where, and what to write instead -------------------------------
def _raises_at_line(src, args, cls, match, line=6):
    module = load(HEADER + src + "\n")
    for backend in ("python", "numba"):
        f = adc.differentiate(module.main, wrt="A", backend=backend)
        with pytest.raises(cls, match=match) as info:
            f.grad(*args)
        if issubclass(cls, adc.CompileError):
            assert (info.value.filename, info.value.lineno) == (module.__file__, line)
        else:
            assert str(info.value).startswith(f"{os.path.basename(module.__file__)}:{line}: ")


def test_a_singular_matrix_raises_with_the_line():
    _raises_at_line("def main(A):\n    return np.sum(np.linalg.solve(A, np.ones(2)))", (np.ones((2, 2)),),
                    np.linalg.LinAlgError, "np.linalg.solve: the matrix is singular")
    module = load(HEADER + "def main(A):\n    return np.linalg.det(A)\n")
    assert adc.differentiate(module.main, wrt="A", backend="python")(np.ones((2, 2))) == 0.0  # as numpy's


def test_a_matrix_that_is_not_positive_definite_raises_with_the_line():
    _raises_at_line("def main(A):\n    return np.sum(np.linalg.cholesky(A))", (-np.eye(2),),
                    np.linalg.LinAlgError, "not positive definite")


def test_a_matrix_that_is_not_square_raises_with_the_line():
    _raises_at_line("def main(A):\n    return np.sum(np.linalg.inv(A))", (np.ones((2, 3)),),
                    np.linalg.LinAlgError, "needs a square matrix")


@pytest.mark.parametrize("src, advice", [
    ("def main(A):\n    return np.sum(np.linalg.cholesky(A + 0j))", "complex"),
    ("def main(A):\n    return np.sum(np.linalg.eigvalsh(A, UPLO='U'))", "np.linalg.eigvalsh(a.T)"),
    ("def main(A):\n    return np.sum(np.linalg.cholesky(A, upper=True))", "np.linalg.cholesky(a).T"),
    ("def main(A):\n    return np.sum(np.outer(A, A))", ".ravel()"),
    ("def main(A):\n    return np.sum(np.dot(A.reshape((2, 1, 2)), A))", "loop over the leading axis"),
])
def test_refusals_name_the_line_and_the_alternative(src, advice):
    module = load(HEADER + src + "\n")
    with pytest.raises(adc.CompileError) as info:
        adc.differentiate(module.main, wrt="A", backend="python").grad(np.eye(2))
    assert advice in str(info.value)
    assert (info.value.filename, info.value.lineno) == (module.__file__, 6)


def test_repeated_eigenvalues():
    """At a repeated eigenvalue symmetric functions of its copies (their sum) keep their derivatives, and
    so do the other eigenvalues and their eigenvectors; the copies apart (w[0] alone) and the eigenvectors
    of the repeated one have none: reverse mode raises, forward mode gives NaN (for the copies too, along
    a direction that splits them: forward mode cannot see that they are summed)."""
    module = load(HEADER + "def values(A):\n    return np.sum(np.linalg.eigvalsh(A) ** 2)\n\n\n"
                  "def simple(A):\n    w, V = np.linalg.eigh(A)\n    return np.sum(V[:, 2] * np.arange(3.0)) ** 2 + w[0] + w[1] + w[2] ** 2\n\n\n"
                  "def repeated(A):\n    w, V = np.linalg.eigh(A)\n    return np.sum(V[:, 1] * np.arange(3.0))\n")
    q, _ = np.linalg.qr(np.array([[2.0, 1.0, 0.5], [0.3, 1.5, 1.0], [0.2, 0.4, 1.0]]))
    a = q @ np.diag([1.0, 1.0, 2.0]) @ q.T
    assert np.linalg.eigvalsh(a)[0] == pytest.approx(np.linalg.eigvalsh(a)[1], abs=1e-12)
    assert adc.differentiate(module.values, wrt="A", backend="python").grad(a) == pytest.approx(2 * np.tril(a) * (2 - np.eye(3)))
    f = adc.differentiate(module.simple, wrt="A", backend="python")
    assert_grad_matches_fd(module.simple, (a,), [0], [f.grad(a)], rtol=1e-6)
    direction = rng.standard_normal((3, 3))
    assert np.isnan(f.jvp(a, tangents=direction)[1])  # forward mode cannot see that the copies are summed
    top = adc.differentiate(load(HEADER + "def main(A):\n    w, V = np.linalg.eigh(A)\n"
                                 "    return np.sum(V[:, 2] * np.arange(3.0)) ** 2 + w[2] ** 2\n").main, wrt="A", backend="python")
    assert top.jvp(a, tangents=direction)[1] == pytest.approx(np.sum(top.grad(a) * direction), rel=1e-9)
    g = adc.differentiate(module.repeated, wrt="A", backend="python")
    with pytest.raises(ValueError, match="an eigenvector of a repeated eigenvalue is used"):
        g.grad(a)
    assert np.isnan(g.jvp(a, tangents=direction)[1])
    first = adc.differentiate(load(HEADER + "def main(A):\n    return np.linalg.eigvalsh(A)[0]\n").main, wrt="A", backend="python")
    with pytest.raises(ValueError, match="copies are used apart"):
        first.grad(a)
    assert np.isnan(first.jvp(a, tangents=direction)[1])


def test_second_order_through_eigenvectors_is_refused():
    module = load(HEADER + "def main(A):\n    w, V = np.linalg.eigh(A)\n    return np.sum(V[0] ** 3)\n")
    f = adc.differentiate(module.main, wrt="A", backend="python")
    with pytest.raises(adc.CompileError, match="second derivatives through np.linalg.eigh's eigenvectors"):
        f.hvp(A + A.T, tangents=np.eye(4))
