"""Every construct of the subset: gradient vs finite differences and vs an independent derivative."""
import math

import numpy as np
import pytest

import adc

import construct_programs as cp
from checks import assert_grad_matches_fd, dual_gradient

rng = np.random.default_rng(7)
V = rng.standard_normal(9)
W = rng.standard_normal(9)
A = rng.standard_normal((4, 5))
B = rng.standard_normal(5)

# (program, args, wrt); the independent derivative comes from vector dual numbers run on the plain function
DUAL_CASES = [
    (cp.scalar_arithmetic, (0.7, 1.3), (0, 1)),
    (cp.int_and_bool, (0.7, 3), (0,)),
    (cp.augmented_assignments, (0.8,), (0,)),
    (cp.tuple_packing, (0.7, -1.2), (0, 1)),
    (cp.conditional_expression, (0.7, 1.3), (0, 1)),
    (cp.conditional_expression, (1.7, 1.3), (0, 1)),
    (cp.if_elif_else, (1.5, 0.3), (0, 1)),
    (cp.if_elif_else, (0.5, 0.3), (0, 1)),
    (cp.if_elif_else, (-0.5, 0.3), (0, 1)),
    (cp.if_elif_else, (-3.5, 0.3), (0, 1)),
    (cp.for_range_forms, (V,), (0,)),
    (cp.nested_loops_2d, (A,), (0,)),
    (cp.while_loop, (V,), (0,)),
    (cp.break_and_continue, (np.array([0.3, -1.5, 1.0, 0.2, 3.0, 1.0]),), (0,)),
    (cp.break_and_continue, (V,), (0,)),
    (cp.overwrite_argument, (V, W[:3].copy()), (0, 1)),
    (cp.matrix_elements, (A, B), (0, 1)),
    (cp.builtins_min_max_abs, (0.7, 1.3), (0, 1)),
    (cp.builtins_min_max_abs, (1.7, -0.3), (0, 1)),
    (cp.whole_array_expressions, (V, W), (0, 1)),
    (cp.slicing_reads, (V,), (0,)),
    (cp.matrix_vector, (A, B), (0, 1)),
    (cp.matrix_matrix, (A, A.T.copy()), (0, 1)),
    (cp.broadcasting, (A[:3, :4].copy(), B[:4].copy(), A[:3, :1].copy(), 0.7), (0, 1, 2, 3)),
    (cp.shared_adjoint, (V, W), (0, 1)),
    (cp.whole_array_read_in_a_loop, (V,), (0,)),
    (cp.calls_helper_with_default, (V,), (0,)),
    (cp.uses_helper, (V,), (0,)),
]


def _id(case):
    return f"{case[0].__name__}-{case[1][0] if np.isscalar(case[1][0]) else 'array'}"


def check(program, args, wrt, backend, expected):
    f = adc.differentiate(program, wrt=tuple(wrt), backend=backend)
    originals = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    value, grads = f.value_and_grad(*args)
    assert value == pytest.approx(program(*[a.copy() if isinstance(a, np.ndarray) else a for a in args]), rel=1e-12)
    for a, original in zip(args, originals):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, original, err_msg="grad must leave its arguments untouched")
    assert_grad_matches_fd(lambda *xs: program(*[x.copy() if isinstance(x, np.ndarray) else x for x in xs]),
                           args, wrt, grads)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
    return f


@pytest.mark.parametrize("case", DUAL_CASES, ids=_id)
def test_construct_gradient(case, backend):
    program, args, wrt = case
    expected = dual_gradient(lambda *xs: program(*[x.copy() if isinstance(x, np.ndarray) else x for x in xs]), args, wrt)
    check(program, args, wrt, backend, expected)


def test_local_array_allocations(backend):
    x = V
    n = len(x)
    expected = np.zeros(n)
    for k in range(1, n):
        expected[k] = sum(i * 0.5 ** (i - k) for i in range(k, n)) * 4 * x[k]
    check(cp.local_arrays, (x,), (0,), backend, [expected])


def test_math_module_spellings(backend):
    x = 0.6
    expected = (math.cos(x) - math.sin(x) + math.exp(x) + 1 / x + 0.5 / math.sqrt(x) + 1 - math.tanh(x) ** 2
                + 1 / (1 + x * x) + x / math.hypot(x, 2.0) + 0.5 / (x * x + 0.25) + 1 / (1 + x) + math.exp(x)
                + math.cosh(x) + math.sinh(x) + 1 / math.cos(x) ** 2 + math.floor(x))
    check(cp.math_spellings, (x,), (0,), backend, [expected])


def test_complex_intermediates_of_a_real_loss(backend):
    x, y = 0.4, -0.7
    z = complex(x, y)
    w = z * z + 1j * z
    dw_dx, dw_dy = 2 * z + 1j, 2j * z - 1
    gx = 2 * (w.conjugate() * dw_dx).real + (dw_dx.conjugate() * z + w.conjugate()).real + math.cos(x)
    gy = 2 * (w.conjugate() * dw_dy).real + (dw_dy.conjugate() * z + w.conjugate() * 1j).real
    check(cp.complex_scalars, (x, y), (0, 1), backend, [gx, gy])


def test_float32_arguments_get_float32_gradients(backend):
    x = V.astype(np.float32)
    f = adc.differentiate(cp.for_range_forms, backend=backend)
    g = f.grad(x)
    assert g.dtype == np.float32
    expected = dual_gradient(cp.for_range_forms, (V,), (0,))[0]
    np.testing.assert_allclose(g, expected, rtol=1e-4)


def test_float32_scalar_gets_float32_gradient():
    f = adc.differentiate(cp.scalar_arithmetic, backend="python")
    g = f.grad(np.float32(0.7), 1.3)
    assert isinstance(g, np.float32)
    assert g == pytest.approx(dual_gradient(cp.scalar_arithmetic, (0.7, 1.3), (0,))[0], rel=1e-5)


def test_calling_another_differentiated_function(backend):
    x = 0.8
    check(cp.call_other_differentiated, (x,), (0,), backend, [2 * (math.sin(x) + x * math.cos(x))])
