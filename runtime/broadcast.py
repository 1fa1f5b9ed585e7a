"""Adjoints of broadcasting: sum an adjoint back down to the shape of the operand it belongs to."""
import numba
import numpy as np


@numba.njit(cache=True)
def unbroadcast_1_1(g, like):
    if g.shape[0] == like.shape[0]:
        return g
    out = np.zeros(1, g.dtype)
    for i in range(g.shape[0]):
        out[0] += g[i]
    return out


@numba.njit(cache=True)
def unbroadcast_2_1(g, like):
    """A 1-d operand broadcast along the rows of a 2-d result."""
    n = like.shape[0]
    out = np.zeros(n, g.dtype)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            out[j if n > 1 else 0] += g[i, j]
    return out


@numba.njit(cache=True)
def unbroadcast_2_2(g, like):
    if g.shape == like.shape:
        return g
    rows, cols = like.shape
    out = np.zeros((rows, cols), g.dtype)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            out[i if rows > 1 else 0, j if cols > 1 else 0] += g[i, j]
    return out


@numba.njit(cache=True)
def unbroadcast_3_3(g, like):
    """A 3-d operand with axes of length 1 broadcast in a 3-d result (x[:, :, None] * y[None])."""
    if g.shape == like.shape:
        return g
    a, b, c = like.shape
    out = np.zeros((a, b, c), g.dtype)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            for k in range(g.shape[2]):
                out[i if a > 1 else 0, j if b > 1 else 0, k if c > 1 else 0] += g[i, j, k]
    return out


@numba.njit(cache=True)
def unbroadcast_3_2(g, like):
    """A 2-d operand broadcast along the first axis of a 3-d result (and along its own axes of length 1)."""
    rows, cols = like.shape
    out = np.zeros((rows, cols), g.dtype)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            for k in range(g.shape[2]):
                out[j if rows > 1 else 0, k if cols > 1 else 0] += g[i, j, k]
    return out


@numba.njit(cache=True)
def unbroadcast_3_1(g, like):
    """A 1-d operand broadcast along the last axis of a 3-d result."""
    n = like.shape[0]
    out = np.zeros(n, g.dtype)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            for k in range(g.shape[2]):
                out[k if n > 1 else 0] += g[i, j, k]
    return out


@numba.njit(cache=True)
def same_shape(g, like):
    """Higher ranks: adjoints of equal shapes only, never a silently wrong sum."""
    if g.shape != like.shape:
        raise ValueError("adc: broadcasting between arrays of different shapes is differentiable up to 3-d")
    return g
