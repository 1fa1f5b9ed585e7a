"""One small program per construct of the subset (module-level, so adc can read their source)."""
import cmath
import math

import numpy as np

import adc

GAIN = 1.5


def helper_square(u):
    return u * u


def helper_pair(u, v):
    return u + v, u * v


def scalar_arithmetic(x, y):
    a = x * y - x / (y + 3.0) + x ** 3 - 2 ** 2 * y
    b = -a + (x - y) ** 2
    return b * GAIN


def int_and_bool(x, k):
    m = k * 2 + 1
    flag = m > 2
    s = x * m
    if flag:
        s = s + float(k) * x
    return s + int(x * 0.0) + True


def augmented_assignments(x):
    s = x
    s += 2.0 * x
    s -= 0.5 * x * x
    s *= x
    s /= 1.0 + x * x
    return s


def tuple_packing(x, y):
    a, b = x, y
    a, b = b, a * b
    p, q = helper_pair(a, b)
    return p * q


def conditional_expression(x, y):
    z = x * y if x > y else x - y
    return z * z


def if_elif_else(x, y):
    if x > 1.0:
        r = x * y
    elif x > 0.0 and y > 0.0:
        r = np.sin(x) + y
    elif not (x < -2.0 or y < -2.0):
        r = x * x
    else:
        r = y
    return r


def for_range_forms(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * (i + 1)
    for i in range(1, x.shape[0]):
        s += x[i] * x[i - 1]
    for i in range(x.shape[0] - 1, -1, -1):
        s = 0.9 * s + x[i]
    for i in range(0, x.shape[0], 3):
        s += np.tanh(x[i])
    for i in range(x.shape[0] - 1, 0, -2):
        s *= 1.0 + 0.01 * x[i]
    return s


def nested_loops_2d(a):
    s = 0.0
    for i in range(a.shape[0]):
        row = 0.0
        for j in range(a.shape[1]):
            row += a[i, j] * a[i, j] * (j + 1)
        s += np.sqrt(row + 1.0)
    return s


def while_loop(x):
    s = 0.0
    i = 0
    while i < x.shape[0] and s < 1e6:
        s = s + x[i] * x[i] + 0.1 * s
        i += 1
    return s


def break_and_continue(x):
    s = 0.0
    for n in range(x.shape[0]):
        if x[n] > 2.5:
            break
        if x[n] < -1.0:
            continue
        s = 0.5 * s + np.exp(0.3 * x[n])
    return s


def local_arrays(x):
    n = len(x)
    y = np.zeros(n)
    z = np.ones(n)
    e = np.empty(n)
    c = np.copy(x)
    for i in range(n):
        e[i] = x[i] * z[i]
        c[i] = c[i] * 2.0
    for i in range(1, n):
        y[i] = 0.5 * y[i - 1] + e[i] * c[i]
    idx = np.arange(n)
    s = 0.0
    for i in range(n):
        s += y[i] * idx[i]
    return s


def overwrite_argument(x, w):
    """Ring-buffer style overwrites of an argument array, read again afterwards."""
    K = w.shape[0]
    s = 0.0
    for n in range(x.shape[0]):
        w[n % K] = w[n % K] * 0.5 + x[n]
        s += w[(n + 1) % K] * x[n]
    return s + w[0] * w[K - 1]


def matrix_elements(a, v):
    out = np.zeros_like(v)
    for i in range(a.shape[0]):
        acc = 0.0
        for j in range(a.shape[1]):
            acc += a[i, j] * v[j]
        out[i] = np.tanh(acc)
    s = 0.0
    for i in range(out.shape[0]):
        s += out[i] * out[i]
    return s


def builtins_min_max_abs(x, y):
    return max(x, y) * min(x, 2.0 * y) + abs(x - y) + max(x, y, 0.1)


def math_spellings(x):
    return (math.sin(x) + math.cos(x) + math.exp(x) + math.log(x) + math.sqrt(x) + math.tanh(x)
            + math.atan(x) + math.hypot(x, 2.0) + math.atan2(x, 0.5) + math.log1p(x) + math.expm1(x)
            + math.sinh(x) + math.cosh(x) + math.tan(x) + math.floor(x) * x)


def complex_scalars(x, y):
    z = complex(x, y)
    w = z * z + 1j * z
    return abs(w) ** 2 + (w.conjugate() * z).real + cmath.exp(1j * x).imag


def whole_array_expressions(x, y):
    z = np.tanh(x) * y + 2.0 * x - y / 3.0
    return np.sum(z * z) + np.mean(np.exp(0.1 * x)) + np.dot(x, y) + x @ z


def slicing_reads(x):
    d = x[1:] - x[:-1]
    e = x[::2]
    f = x[2:7]
    return np.sum(d * d) + np.sum(e) * np.sum(f) + x[-1]


def matrix_vector(a, v):
    y = a @ v
    return np.sum(np.tanh(y))


@adc.differentiate
def differentiated_helper(x):
    return np.sin(x) * x


def call_other_differentiated(x):
    return differentiated_helper(x) * 2.0


def uses_helper(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += helper_square(x[i] - 1.0)
    return s


def matrix_matrix(a, b):
    c = a @ b
    v = c[0, :]
    return np.sum(c * c) + np.dot(v, v)


def broadcasting(m, row, col, s):
    """A (3, 4) matrix against a (4,) row, a (3, 1) column and a scalar."""
    z = m * row + col * s - np.tanh(col)
    return np.sum(z * z)


def broadcasting_result(m, s):
    return np.tanh(m * s)


def nan_in_the_middle(c, x):
    s = 0.0
    for n in range(x.shape[0]):
        r = np.sqrt(c - x[n])
        s += r
    return s


def inf_in_the_reverse_sweep(x):
    s = 0.0
    for n in range(x.shape[0]):
        s += np.arcsin(x[n])
    return s


def shared_adjoint(x, y):
    """z = a + b hands z's adjoint to a and b; a's later accumulation must not leak into b's."""
    a = np.sin(x)
    b = np.cos(y)
    w = a * 3.0
    z = a + b
    return np.sum(z * z) + np.sum(w)


def whole_array_read_in_a_loop(a):
    s = a * 2.0
    total = 0.0
    for _ in range(3):
        total += np.sum(s * s)
    return total


def calls_helper_with_default(x):
    return np.sum(helper_with_default(x))


def helper_with_default(x, scale=GAIN):
    return x * scale
