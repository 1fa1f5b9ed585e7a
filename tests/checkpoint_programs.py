"""Recurrences the checkpointing tests run twice: as written (`LOOP` -> `range`) and checkpointed
(`LOOP(...)` -> `adc.checkpoint(..., snapshots=S)`). Each: (name, source, wrt, make_args(rng, n))."""
import numpy as np

HEADER = "import math\nimport numpy as np\nimport adc\n\n\n"

IIR = '''
def main(b, a, x):
    y = 0.0
    s = 0.0
    for n in LOOP(range(x.shape[0])):
        y = b * x[n] + a * y
        s += y * y
    return s
'''

BIQUAD = '''
def main(c, x):
    s1 = 0.0
    s2 = 0.0
    loss = 0.0
    for n in LOOP(range(x.shape[0])):
        y = c[0] * x[n] + s1
        s1 = c[1] * x[n] - c[3] * y + s2
        s2 = c[2] * x[n] - c[4] * y
        loss += math.tanh(y) ** 2
    return loss
'''

SCALAR_KALMAN = '''
def main(q, r, z):
    x = 0.0
    p = 1.0
    nll = 0.0
    for k in LOOP(range(z.shape[0])):
        p = p + q
        s = p + r
        g = p / s
        e = z[k] - x
        x = x + g * e
        p = (1.0 - g) * p
        nll += 0.5 * (math.log(s) + e * e / s)
    return nll
'''

MATRIX_KALMAN = '''
def main(q, r, F, H, z):
    n = F.shape[0]
    Q = q * np.eye(n)
    x = np.zeros(n)
    P = np.eye(n)
    nll = 0.0
    for k in LOOP(range(z.shape[0])):
        x = F @ x
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + r
        K = P @ H.T / S[0, 0]
        innov = z[k] - (H @ x)[0]
        x = x + K[:, 0] * innov
        P = P - K @ H @ P
        nll += 0.5 * (np.log(S[0, 0]) + innov ** 2 / S[0, 0])
    return nll
'''

IN_PLACE_KALMAN = '''
def main(q, r, F, h, z):
    n = F.shape[0]
    x = np.zeros(n)
    P = np.eye(n)
    nll = 0.0
    for k in LOOP(range(z.shape[0])):
        x[:] = F @ x
        P[:, :] = F @ P @ F.T + q * np.eye(n)
        ph = P @ h
        s = np.dot(h, ph) + r
        innov = z[k] - np.dot(h, x)
        x[:] = x + ph * (innov / s)
        P[:, :] = P - np.outer(ph, ph) / s
        nll += 0.5 * (math.log(s) + innov * innov / s)
    return nll
'''

LMS = '''
def main(w0, mu, x, d):
    w = w0.copy()
    m = w.shape[0]
    err = 0.0
    for n in LOOP(range(m, x.shape[0])):
        y = 0.0
        for k in range(m):
            y += w[k] * x[n - k]
        e = d[n] - y
        for k in range(m):
            w[k] += mu * e * x[n - k]
        err += e * e
    return err + np.sum(w ** 2)
'''

LMS_IN_ARGUMENT = '''
def main(w, mu, x, d):
    m = w.shape[0]
    err = 0.0
    for n in LOOP(range(m, x.shape[0])):
        e = d[n] - np.dot(w, x[n - m:n])
        w += mu * e * x[n - m:n]
        err += e * e
    return err
'''

ALL_POLE = '''
def main(a, x):
    y = np.zeros(x.shape[0])
    p = a.shape[0]
    for n in LOOP(range(p, x.shape[0])):
        acc = x[n]
        for k in range(p):
            acc -= a[k] * y[n - 1 - k]
        y[n] = math.tanh(acc)
    return np.sum(y ** 2)
'''

WRITE_ONCE = '''
def main(b, a, x):
    y = np.zeros(x.shape[0])
    y[0] = x[0]
    for n in LOOP(range(1, x.shape[0])):
        y[n] = b * x[n] + a * y[n - 1]
    return np.sum(y * y) + y[-1]
'''

STRIDED = '''
def main(a, x):
    s = 0.0
    v = 1.0
    for n in LOOP(range(1, x.shape[0], 2)):
        v = math.sin(a * v + x[n])
        s += v * x[n - 1]
    return s
'''


def _kalman_matrices(rng):
    F = np.array([[1.0, 0.1, 0.0, 0.0], [0.0, 0.95, 0.1, 0.0], [0.0, 0.0, 0.9, 0.1], [0.0, 0.0, 0.0, 0.85]])
    return F + 0.01 * rng.standard_normal((4, 4))


PROGRAMS = [
    ("iir", IIR, ("b", "a", "x"), lambda rng, n: (0.5, 0.8, rng.standard_normal(n))),
    ("biquad", BIQUAD, ("c", "x"), lambda rng, n: (np.array([0.3, 0.2, 0.1, -0.4, 0.2]), rng.standard_normal(n))),
    ("scalar_kalman", SCALAR_KALMAN, ("q", "r", "z"), lambda rng, n: (0.1, 0.5, rng.standard_normal(n))),
    ("matrix_kalman", MATRIX_KALMAN, ("q", "r", "F", "H"),
     lambda rng, n: (0.05, 0.3, _kalman_matrices(rng), np.array([[1.0, 0.0, 0.5, 0.0]]), rng.standard_normal(n))),
    ("in_place_kalman", IN_PLACE_KALMAN, ("q", "r", "F", "h", "z"),
     lambda rng, n: (0.05, 0.3, _kalman_matrices(rng), np.array([1.0, 0.0, 0.5, 0.0]), rng.standard_normal(n))),
    ("lms", LMS, ("w0", "mu", "x"),
     lambda rng, n: (0.1 * rng.standard_normal(3), 0.05, rng.standard_normal(n + 3), rng.standard_normal(n + 3))),
    ("lms_in_argument", LMS_IN_ARGUMENT, ("w", "mu", "x"),
     lambda rng, n: (0.1 * rng.standard_normal(3), 0.05, rng.standard_normal(n + 3), rng.standard_normal(n + 3))),
    ("all_pole", ALL_POLE, ("a", "x"), lambda rng, n: (np.array([-0.5, 0.2]), rng.standard_normal(n + 2))),
    ("write_once", WRITE_ONCE, ("b", "a", "x"), lambda rng, n: (0.5, 0.7, rng.standard_normal(n + 1))),
    ("strided", STRIDED, ("a", "x"), lambda rng, n: (0.7, rng.standard_normal(2 * n + 1))),
]


def source(body: str, snapshots: int | None) -> str:
    """The program with its loop as written (snapshots None) or checkpointed."""
    start = body.index("LOOP(")
    end = body.index(":\n", start)
    steps = body[start + len("LOOP("):end - 1]
    loop = steps if snapshots is None else f"adc.checkpoint({steps}, snapshots={snapshots})"
    return HEADER + body[:start] + loop + body[end:]
