"""The functions docs/complex.md differentiates (tests check the numbers the page states)."""
import numpy as np


def squared_magnitude(z):
    return abs(z) ** 2


def phase_retrieval(z, magnitude):
    Z = np.fft.fft(z, norm="ortho")
    return np.sum((np.abs(Z) - magnitude) ** 2)
