"""One function per transform and option: axes, n and norm must be constants in the source."""
import numpy as np

import adc


def fft_default(x):
    return np.fft.fft(x)


def fft_ortho(x):
    return np.fft.fft(x, norm="ortho")


def fft_forward_padded(x):
    return np.fft.fft(x, 12, norm="forward")


def fft_cut(x):
    return np.fft.fft(x, 5)


def ifft_default(x):
    return np.fft.ifft(x)


def ifft_ortho_padded(x):
    return np.fft.ifft(x, 11, norm="ortho")


def rfft_even(x):
    return np.fft.rfft(x)


def rfft_odd_padded(x):
    return np.fft.rfft(x, 9, norm="ortho")


def rfft_forward(x):
    return np.fft.rfft(x, norm="forward")


def irfft_default(x):
    return np.fft.irfft(x)


def irfft_odd(x):
    return np.fft.irfft(x, 7, norm="ortho")


def irfft_forward_even(x):
    return np.fft.irfft(x, 8, norm="forward")


def fft2_default(x):
    return np.fft.fft2(x)


def ifft2_ortho(x):
    return np.fft.ifft2(x, norm="ortho")


def fftn_axis0(x):
    return np.fft.fftn(x, axes=(0,))


def ifftn_all(x):
    return np.fft.ifftn(x, norm="forward")


def fft_along_rows(x):
    return np.fft.fft(x, axis=0)


def rfft_rows_of_matrix(x):
    return np.fft.rfft(x, axis=1)


def shift(x):
    return np.fft.fftshift(x)


def ishift_axis(x):
    return np.fft.ifftshift(x, axes=(1,))


def spectral_loss(x, target):
    """A real loss of a complex intermediate."""
    X = np.fft.rfft(x)
    return np.sum((np.abs(X) - target) ** 2)


def phase_retrieval_loss(z, magnitude):
    """Fourier magnitudes of a complex signal against measured ones."""
    Z = np.fft.fft(z, norm="ortho")
    return np.sum((np.abs(Z) - magnitude) ** 2)


def dft_as_loops(x, k):
    """A DFT written with cmath.exp: complex intermediates in loops."""
    s = 0j
    for n in range(x.shape[0]):
        s += x[n] * np.exp(-2j * np.pi * k * n / x.shape[0])
    return abs(s) ** 2


def holomorphic(z):
    return np.sin(z) * np.exp(z) + z * z


def abs_at_zero(z):
    return np.sum(np.abs(z))


def angle_at_zero(z):
    return np.sum(np.angle(z))


def sqrt_at_zero(x):
    return np.sum(np.sqrt(x))


def dct_ii(x):
    return adc.dct(x)


def dct_ii_ortho(x):
    return adc.dct(x, norm="ortho")


def dct_iii(x):
    return adc.dct(x, type=3)


def dct_iii_ortho(x):
    return adc.dct(x, 3, "ortho")


def weighted_power(X, w):
    """A real, nonlinear loss of a transform's output."""
    return np.sum(w * np.abs(X) ** 2)


def loss_fft(x, w):
    return weighted_power(fft_forward_padded(x), w)


def loss_ifft(x, w):
    return weighted_power(ifft_ortho_padded(x), w)


def loss_rfft(x, w):
    return weighted_power(rfft_odd_padded(x), w)


def loss_irfft(x, w):
    return weighted_power(irfft_odd(x), w)


def loss_fft2(x, w):
    return weighted_power(fft2_default(x), w)


def loss_fftn(x, w):
    return weighted_power(ifftn_all(fftshift_all(x)), w)


def fftshift_all(x):
    return np.fft.fftshift(x)


def loss_dct(x, w):
    return np.sum(w * np.tanh(dct_ii_ortho(x)) ** 2) + np.sum(w * dct_iii(x))


def irfft_rows_explicit_length(x):
    return np.fft.irfft(x, 8, axis=-1)


def irfft_of_computed_real(x):
    y = np.exp(x)
    return np.fft.irfft(y)


def transpose_product(a, b):
    return a @ b.T


# -- any axis, and the 2-d and n-d real transforms with `s` and `axes` --------------------------
def rfft_time_major(m):
    """(T, C): one spectrum per channel, along time."""
    return np.fft.rfft(m, axis=0)


def rfft_time_major_padded(m):
    return np.fft.rfft(m, 12, axis=0, norm="ortho")


def irfft_time_major(m):
    return np.fft.irfft(m, axis=0)


def irfft_middle_axis_cut(x):
    return np.fft.irfft(x, 6, axis=1, norm="forward")


def rfft_middle_axis_padded(x):
    return np.fft.rfft(x, 7, axis=1)


def fft_first_axis_cut(m):
    return np.fft.fft(m, 2, axis=0)


def rfft2_default(m):
    return np.fft.rfft2(m)


def rfft2_s_axes(m):
    return np.fft.rfft2(m, s=(6, 5), axes=(1, 0), norm="ortho")


def irfft2_default(m):
    return np.fft.irfft2(m)


def irfft2_s(m):
    return np.fft.irfft2(m, (5, 7), norm="forward")


def rfftn_all(x):
    return np.fft.rfftn(x)


def rfftn_s_axes(x):
    return np.fft.rfftn(x, s=(3, 6), axes=(0, 2), norm="forward")


def irfftn_axes(x):
    return np.fft.irfftn(x, axes=(2, 0))


def irfftn_s_axes(x):
    return np.fft.irfftn(x, s=(4, 3, 5), axes=(1, 2, 0), norm="ortho")


def fft2_s(m):
    return np.fft.fft2(m, s=(5, 3))


def ifft2_s(m):
    return np.fft.ifft2(m, (3, 6), norm="ortho")


def fftn_s_axes(x):
    return np.fft.fftn(x, s=(2, 6), axes=(2, 0))


def ifftn_s_computed(x):
    return np.fft.ifftn(x, s=(x.shape[0] + 1, 2), axes=(0, 1), norm="forward")
