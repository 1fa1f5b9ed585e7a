"""Recurrences whose state is a whole array, written as users write them ([1/10]: arrays as values)."""
import numpy as np


def leaky_whole_array(a, x, target):
    """m parallel leaky integrators updated as one array, y = a * y + x[n], against a target."""
    y = np.zeros(x.shape[1])
    loss = 0.0
    for n in range(x.shape[0]):
        y = a * y + x[n, :]
        loss += np.sum((y - target[n, :]) ** 2)
    return loss


def kalman_two_state(q, r, F, H, z):
    """Negative log-likelihood of a constant-velocity Kalman filter, matrix form, 1x1 innovation."""
    x = np.zeros(2)
    P = np.zeros((2, 2))
    P[0, 0] = 1.0
    P[1, 1] = 1.0
    Q = np.zeros((2, 2))
    Q[0, 0] = q / 3.0
    Q[0, 1] = q / 2.0
    Q[1, 0] = q / 2.0
    Q[1, 1] = q
    nll = 0.0
    for k in range(z.shape[0]):
        x = F @ x
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + r
        s = S[0, 0]
        K = P @ H.T / s
        innov = z[k] - np.sum(H @ x)
        x = x + K[:, 0] * innov
        P = P - K @ H @ P
        nll += 0.5 * (np.log(2 * np.pi * s) + innov ** 2 / s)
    return nll


def leaky_args(quick: bool):
    """m = 64 channels, N = 10^4 steps (10^2 with --quick)."""
    rng = np.random.default_rng(4)
    n = 100 if quick else 10_000
    x = rng.standard_normal((n, 64))
    target = rng.standard_normal((n, 64))
    return (0.9, x, target)


def kalman_args(quick: bool):
    """A noisy random walk with drift observed in position, N = 10^5 (10^3 with --quick)."""
    rng = np.random.default_rng(5)
    n = 1_000 if quick else 100_000
    F = np.array([[1.0, 1.0], [0.0, 1.0]])
    H = np.array([[1.0, 0.0]])
    z = np.cumsum(0.1 + 0.3 * rng.standard_normal(n)) + 0.5 * rng.standard_normal(n)
    return (0.01, 0.25, F, H, z)


ARRAY_STATE = (("leaky, m=64", leaky_whole_array, leaky_args, ("a", "x")),
               ("kalman 2-state", kalman_two_state, kalman_args, ("q", "r", "F", "H")))
