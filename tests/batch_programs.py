"""Programs for the batched tests ([8/10]), at module level so that Dask's worker processes can import them."""
import numpy as np

import adc


def beam_power(w, theta, X, spacing):
    """Mean output power of a weighted narrowband beam steered to `theta` (radians) over the snapshots X
    of a uniform line array (sensor spacing in wavelengths): one direction per batch element."""
    M = X.shape[0]
    power = 0.0
    for t in range(X.shape[1]):
        acc = 0j
        for m in range(M):
            acc += w[m] * np.exp(-2j * np.pi * spacing * m * np.sin(theta)) * X[m, t]
        power += acc.real ** 2 + acc.imag ** 2
    return power / X.shape[1]


def filtered(b, a, x):
    """An array result: the one-pole filter's output."""
    y = np.zeros(x.shape[0])
    prev = 0.0
    for n in range(x.shape[0]):
        prev = b * x[n] + a * prev
        y[n] = prev
    return y


def energy_and_last(b, a, x):
    """A tuple result."""
    y = 0.0
    energy = 0.0
    for n in range(x.shape[0]):
        y = b * x[n] + a * y
        energy += y * y
    return energy, y


def normalise_in_place(x, g):
    """Writes its mapped argument."""
    for n in range(x.shape[0]):
        x[n] = g * x[n]
    s = 0.0
    for n in range(x.shape[0]):
        s += x[n] * x[n]
    return s


def checkpointed_iir(b, a, x):
    y = 0.0
    loss = 0.0
    for n in adc.checkpoint(range(x.shape[0]), snapshots=4):
        y = b * x[n] + a * y
        loss += y * y
    return loss


WINDOW = np.hanning(40)


def windowed_energy(g, x):
    """Reads a module-level array."""
    s = 0.0
    for n in range(x.shape[0]):
        s += (g * WINDOW[n] * x[n]) ** 2
    return s


def overruns(x, t):
    s = 0.0
    for n in range(x.shape[0]):
        s += (x[n] - t[n + 1]) ** 2
    return s

