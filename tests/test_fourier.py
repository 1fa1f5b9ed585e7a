"""The Fourier family inside differentiated code: each transform's adjoint rule passes the adjoint
test <F x, y> = <x, F^H y> and its forward rule is the transform itself; real losses of complex
intermediates and complex parameters match finite differences (real and imaginary parts apart);
real losses of transforms along any axes, with `n` and `s`, pass the fuzzer's oracle (finite
differences, the jvp/vjp dot test, hvp, numba against python)."""
import fourier_programs as fp
import numpy as np
import pytest
from fuzz.oracle import Case, check_case

import adc

rng = np.random.default_rng(21)


def real(*shape):
    return rng.standard_normal(shape)


def cplx(*shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


TRANSFORMS = [
    (fp.fft_default, real(8)), (fp.fft_default, cplx(8)), (fp.fft_ortho, cplx(8)),
    (fp.fft_forward_padded, cplx(8)), (fp.fft_cut, cplx(8)), (fp.ifft_default, cplx(8)),
    (fp.ifft_ortho_padded, cplx(7)), (fp.rfft_even, real(8)), (fp.rfft_odd_padded, real(7)),
    (fp.rfft_forward, real(10)), (fp.irfft_default, cplx(5)), (fp.irfft_odd, cplx(4)),
    (fp.irfft_forward_even, cplx(6)), (fp.fft2_default, cplx(4, 6)), (fp.ifft2_ortho, cplx(4, 5)),
    (fp.fftn_axis0, cplx(3, 4)), (fp.ifftn_all, cplx(3, 4)), (fp.fft_along_rows, cplx(5, 3)),
    (fp.rfft_rows_of_matrix, real(3, 8)), (fp.shift, real(7)), (fp.ishift_axis, real(3, 5)),
    (fp.dct_ii, real(7)), (fp.dct_ii_ortho, real(8)), (fp.dct_iii, real(8)), (fp.dct_iii_ortho, real(7)),
    (fp.irfft_rows_explicit_length, cplx(3, 5)),
    (fp.rfft_time_major, real(9, 3)), (fp.rfft_time_major, real(8, 2)), (fp.rfft_time_major_padded, real(7, 3)),
    (fp.irfft_time_major, cplx(5, 3)), (fp.irfft_middle_axis_cut, cplx(2, 5, 3)),
    (fp.rfft_middle_axis_padded, real(2, 4, 3)), (fp.fft_first_axis_cut, cplx(3, 3)),
    (fp.rfft2_default, real(4, 6)), (fp.rfft2_s_axes, real(4, 7)), (fp.irfft2_default, cplx(4, 4)),
    (fp.irfft2_s, cplx(4, 3)), (fp.rfftn_all, real(3, 4, 5)), (fp.rfftn_s_axes, real(2, 3, 5)),
    (fp.irfftn_axes, cplx(3, 4, 4)), (fp.irfftn_s_axes, cplx(3, 2, 4)), (fp.fft2_s, cplx(4, 4)),
    (fp.ifft2_s, cplx(4, 4)), (fp.fftn_s_axes, cplx(3, 4, 5)), (fp.ifftn_s_computed, cplx(3, 4)),
]


def inner(a, b) -> float:
    """The real inner product Re sum(conj(a) b): the one reverse mode is the adjoint for."""
    return float(np.real(np.vdot(a, b)))


@pytest.mark.parametrize("program, x", TRANSFORMS, ids=lambda p: getattr(p, "__name__", None) or str(p.dtype))
def test_adjoint_rule_passes_the_adjoint_test(program, x, backend):
    f = adc.differentiate(program, backend=backend)
    Fx = f(x)
    np.testing.assert_allclose(Fx, program(x), rtol=1e-12, atol=1e-12)
    y = (cplx if np.iscomplexobj(Fx) else real)(*Fx.shape)
    _, x_bar = f.vjp(x, cotangent=y)
    assert x_bar.dtype == x.dtype and x_bar.shape == x.shape
    lhs, rhs = inner(Fx, y), inner(x, x_bar)
    assert abs(lhs - rhs) <= 1e-12 * max(abs(lhs), 1.0), (lhs, rhs)


@pytest.mark.parametrize("program, x", TRANSFORMS, ids=lambda p: getattr(p, "__name__", None) or str(p.dtype))
def test_forward_rule_is_the_transform(program, x):
    f = adc.differentiate(program, backend="python")
    v = (cplx if np.iscomplexobj(x) else real)(*x.shape)
    _, tangent = f.jvp(x, tangents=v)
    np.testing.assert_allclose(tangent, program(v), rtol=1e-12, atol=1e-12)


def fd_complex(f, z, args, h=1e-6):
    """Central differences along the real and the imaginary part of every entry."""
    gx, gy = np.zeros(z.shape), np.zeros(z.shape)
    for k in range(z.size):
        e = np.zeros(z.shape, complex)
        e.flat[k] = h
        gx.flat[k] = (f(z + e, *args) - f(z - e, *args)) / (2 * h)
        gy.flat[k] = (f(z + 1j * e, *args) - f(z - 1j * e, *args)) / (2 * h)
    return gx, gy


@pytest.mark.parametrize("complex_grad", ["real-imag", "wirtinger", "conj-wirtinger"])
def test_complex_parameter_gradient_conventions(complex_grad, backend):
    z, magnitude = cplx(8), np.abs(cplx(8))
    f = adc.differentiate(fp.phase_retrieval_loss, backend=backend, complex_grad=complex_grad)
    g = f.grad(z, magnitude)
    gx, gy = fd_complex(fp.phase_retrieval_loss, z, (magnitude,))
    expected = {"real-imag": gx + 1j * gy, "wirtinger": 0.5 * (gx - 1j * gy), "conj-wirtinger": 0.5 * (gx + 1j * gy)}
    np.testing.assert_allclose(g.real, expected[complex_grad].real, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g.imag, expected[complex_grad].imag, rtol=1e-6, atol=1e-8)


def test_real_loss_of_complex_intermediates_matches_fd_and_dot_product(backend):
    x, target = real(16), np.abs(cplx(9))
    f = adc.differentiate(fp.spectral_loss, backend=backend)
    g = f.grad(x, target)
    h = 1e-6
    fd = np.array([(fp.spectral_loss(x + h * e, target) - fp.spectral_loss(x - h * e, target)) / (2 * h)
                   for e in np.eye(16)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    v = real(16)
    _, jv = f.jvp(x, target, tangents=v)
    assert jv == pytest.approx(g @ v, rel=1e-10)


def test_dft_written_as_loops_with_complex_exponentials(backend):
    x = real(12)
    f = adc.differentiate(fp.dft_as_loops, backend=backend)
    g = f.grad(x, 3)
    X = np.fft.fft(x)[3]
    expected = 2 * np.real(np.conj(X) * np.exp(-2j * np.pi * 3 * np.arange(12) / 12))
    np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12)
    v = real(12)
    _, jv = f.jvp(x, 3, tangents=v)
    assert jv == pytest.approx(g @ v, rel=1e-10)


def test_holomorphic_forward_mode_is_the_complex_derivative():
    f = adc.differentiate(fp.holomorphic, backend="python")
    z = 0.3 + 0.7j
    _, tangent = f.jvp(z, tangents=1.0 + 0j)
    assert tangent == pytest.approx(np.cos(z) * np.exp(z) + np.sin(z) * np.exp(z) + 2 * z, rel=1e-12)


@pytest.mark.parametrize("program", [fp.abs_at_zero, fp.angle_at_zero, fp.sqrt_at_zero])
def test_singular_points_have_defined_gradients(program, backend):
    f = adc.differentiate(program, backend=backend)
    g = f.grad(np.zeros(3, complex) if program is not fp.sqrt_at_zero else np.zeros(3))
    assert np.all(np.isfinite(g)) and np.all(g == 0)


@pytest.mark.parametrize("n", [7, 8])
def test_dct_matches_its_definition(n):
    x = real(n)
    k, m = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    c2 = 2 * np.cos(np.pi * k * (2 * m + 1) / (2 * n))  # y[k] = sum_m c2[k, m] x[m]
    c3 = np.where(m == 0, 1.0, 2.0) * np.cos(np.pi * m * (2 * k + 1) / (2 * n))  # y[k] = sum_m c3[k, m] x[m]
    np.testing.assert_allclose(adc.dct(x), c2 @ x, atol=1e-12)
    np.testing.assert_allclose(adc.dct(x, type=3), c3 @ x, atol=1e-12)
    np.testing.assert_allclose(adc.dct(adc.dct(x, norm="ortho"), type=3, norm="ortho"), x, atol=1e-12)


@pytest.mark.parametrize("program, x, out_shape", [
    (fp.loss_fft, cplx(8), (12,)), (fp.loss_ifft, cplx(7), (11,)), (fp.loss_rfft, real(7), (5,)),
    (fp.loss_irfft, cplx(4), (7,)), (fp.loss_fft2, cplx(3, 4), (3, 4)), (fp.loss_fftn, cplx(3, 4), (3, 4)),
    (fp.loss_dct, real(8), (8,)),
], ids=lambda p: getattr(p, "__name__", ""))
def test_real_loss_through_each_transform_matches_finite_differences(program, x, out_shape):
    w = np.abs(real(*out_shape))
    f = adc.differentiate(program, backend="python")
    g = f.grad(x, w)
    v = (cplx if np.iscomplexobj(x) else real)(*x.shape)
    h = 1e-5
    fd = (8 * (program(x + h * v, w) - program(x - h * v, w))
          - (program(x + 2 * h * v, w) - program(x - 2 * h * v, w))) / (12 * h)
    assert inner(g, v) == pytest.approx(fd, rel=1e-6)
    _, jv = f.jvp(x, w, tangents=v)
    assert jv == pytest.approx(inner(g, v), rel=1e-10)


def test_irfft_of_a_real_array_computed_in_the_function(backend):
    x = real(9)
    f = adc.differentiate(fp.irfft_of_computed_real, backend=backend)
    np.testing.assert_allclose(f(x), fp.irfft_of_computed_real(x), atol=1e-12)
    y = real(16)
    _, x_bar = f.vjp(x, cotangent=y)
    v = real(9)
    _, jv = f.jvp(x, tangents=v)
    assert inner(jv, y) == pytest.approx(inner(v, x_bar), rel=1e-10)


def test_transpose_of_a_matrix(backend):
    a, b = real(3, 4), real(5, 4)
    f = adc.differentiate(fp.transpose_product, wrt=(0, 1), backend=backend)
    np.testing.assert_allclose(f(a, b), a @ b.T)
    y = real(3, 5)
    _, (ga, gb) = f.vjp(a, b, cotangent=y)
    np.testing.assert_allclose(ga, y @ b, atol=1e-12)
    np.testing.assert_allclose(gb, y.T @ a, atol=1e-12)


HEADER = "import math\nimport numpy as np\n\n\n"
ORACLE = {  # name: (source, arguments, wrt)
    "time_major_channels": ("""
def main(m, w):
    X = np.fft.rfft(m, axis=0)
    y = np.fft.irfft(X * w, 9, axis=0)
    return np.sum(np.abs(X) ** 2 * w) + np.sum(y * y * y)
""", (real(9, 3), real(5, 3)), ("m", "w")),
    "middle_axis_of_3d_with_n": ("""
def main(x):
    X = np.fft.rfft(x, 6, axis=1, norm="ortho")
    return np.sum(np.abs(X) ** 3) + np.sum(np.fft.irfft(X * X, 5, axis=1) ** 2)
""", (real(2, 4, 3),), ("x",)),
    "rfft2_s_axes_then_irfftn": ("""
def main(m, w):
    X = np.fft.rfft2(m, (6, 5), (1, 0), "ortho")
    y = np.fft.irfftn(X * w, (7, 4), (0, 1))
    return np.sum(np.abs(X) ** 2 * w) + np.sum(np.sin(y))
""", (real(4, 7), real(3, 6)), ("m", "w")),
    "rfftn_3d_computed_s": ("""
def main(x):
    X = np.fft.rfftn(x, s=(x.shape[0] + 1, 4), axes=(0, 2), norm="forward")
    return np.sum(np.abs(X) ** 2) + np.sum(np.tanh(np.fft.irfftn(X, axes=(2, 0))))
""", (real(2, 3, 5),), ("x",)),
    "fft2_and_ifftn_with_s": ("""
def main(m):
    z = np.fft.fft2(m * (1.0 + 0.5j), s=(4, 6))
    return np.sum(np.abs(np.fft.ifftn(z * z, s=(3, 5), axes=(0, 1))) ** 2)
""", (real(3, 4),), ("m",)),
}


@pytest.mark.parametrize("name", ORACLE)
def test_multi_axis_losses_pass_the_oracle(name):
    src, args, wrt = ORACLE[name]
    check_case(Case(HEADER + src.lstrip("\n"), args, wrt, numba=True, hvp=True), strict=True)
