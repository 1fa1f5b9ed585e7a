"""Derivative oracles for tests: finite differences and dual numbers, both independent of adc."""
import numpy as np


def directional_fd(f, args, wrt, direction, h=1e-4):
    """4-point central difference of f along `direction` (one entry per wrt index)."""
    def at(t):
        moved = list(args)
        for i, d in zip(wrt, direction):
            moved[i] = args[i] + t * d
        return f(*moved)
    return (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)


def random_direction(args, wrt, rng):
    out = []
    for i in wrt:
        a = args[i]
        if isinstance(a, np.ndarray):
            d = rng.standard_normal(a.shape)
            if np.iscomplexobj(a):
                d = d + 1j * rng.standard_normal(a.shape)
            out.append(d.astype(a.dtype))
        else:
            out.append(complex(rng.standard_normal(), rng.standard_normal()) if isinstance(a, complex) else float(rng.standard_normal()))
    return out


def assert_grad_matches_fd(f, args, wrt, grads, rtol=1e-6, seed=0, h=1e-4, trials=2):
    """<grad, v> == directional FD along random v (real inner product: Re(conj(g) v))."""
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        v = random_direction(args, wrt, rng)
        fd = directional_fd(f, args, wrt, v, h)
        ad = sum(np.sum(np.real(np.conj(g) * d)) for g, d in zip(grads, v))
        assert abs(ad - fd) <= rtol * max(abs(fd), 1e-8), f"AD {ad!r} vs FD {fd!r}"


class Dual:
    """A forward-mode number: runs the undecorated Python function for an independent derivative."""

    def __init__(self, val, dot=0.0):
        self.val, self.dot = val, dot

    @staticmethod
    def lift(x):
        return x if isinstance(x, Dual) else Dual(x, 0.0)

    def __add__(self, o):
        o = Dual.lift(o)
        return Dual(self.val + o.val, self.dot + o.dot)
    __radd__ = __add__

    def __sub__(self, o):
        o = Dual.lift(o)
        return Dual(self.val - o.val, self.dot - o.dot)

    def __rsub__(self, o):
        return Dual.lift(o) - self

    def __mul__(self, o):
        o = Dual.lift(o)
        return Dual(self.val * o.val, self.dot * o.val + self.val * o.dot)
    __rmul__ = __mul__

    def __truediv__(self, o):
        o = Dual.lift(o)
        return Dual(self.val / o.val, (self.dot * o.val - self.val * o.dot) / (o.val * o.val))

    def __rtruediv__(self, o):
        return Dual.lift(o) / self

    def __pow__(self, k):
        assert not isinstance(k, Dual)
        return Dual(self.val ** k, k * self.val ** (k - 1) * self.dot)

    def __neg__(self):
        return Dual(-self.val, -self.dot)

    def __abs__(self):
        return Dual(abs(self.val), np.sign(self.val) * self.dot)

    def __lt__(self, o): return self.val < Dual.lift(o).val
    def __le__(self, o): return self.val <= Dual.lift(o).val
    def __gt__(self, o): return self.val > Dual.lift(o).val
    def __ge__(self, o): return self.val >= Dual.lift(o).val

    def __float__(self):
        return float(self.val)

    def __int__(self):
        return int(self.val)

    # numpy ufuncs on object arguments call these methods
    def log(self): return Dual(np.log(self.val), self.dot / self.val)
    def exp(self): return Dual(np.exp(self.val), np.exp(self.val) * self.dot)
    def sqrt(self): return Dual(np.sqrt(self.val), 0.5 * self.dot / np.sqrt(self.val))
    def sin(self): return Dual(np.sin(self.val), np.cos(self.val) * self.dot)
    def cos(self): return Dual(np.cos(self.val), -np.sin(self.val) * self.dot)
    def tanh(self): return Dual(np.tanh(self.val), (1 - np.tanh(self.val) ** 2) * self.dot)
    def arctan(self): return Dual(np.arctan(self.val), self.dot / (1 + self.val ** 2))


def dual_gradient(f, args, wrt):
    """The gradient w.r.t. scalar or array args from one vector-dual run of the plain function."""
    sizes = [np.size(args[i]) for i in wrt]
    total = sum(sizes)
    dual_args, offset = list(args), 0
    for i, size in zip(wrt, sizes):
        basis = np.eye(total)[offset:offset + size]
        if isinstance(args[i], np.ndarray):
            flat = [Dual(v, basis[k]) for k, v in enumerate(args[i].ravel())]
            dual_args[i] = np.array(flat + [None], dtype=object)[:-1].reshape(args[i].shape)
        else:
            dual_args[i] = Dual(args[i], basis[0])
        offset += size
    dot = Dual.lift(f(*dual_args)).dot
    dot = np.zeros(total) if np.isscalar(dot) else dot
    out, offset = [], 0
    for i, size in zip(wrt, sizes):
        part = dot[offset:offset + size]
        out.append(part.reshape(np.shape(args[i])) if isinstance(args[i], np.ndarray) else part[0])
        offset += size
    return out


def dual_partials(f, args, wrt):
    """df/d(args[i]) for scalar args by one dual-number run of the plain function per i."""
    out = []
    for i in wrt:
        dual_args = list(args)
        dual_args[i] = Dual(args[i], 1.0)
        out.append(Dual.lift(f(*dual_args)).dot)
    return out
