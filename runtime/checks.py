"""Checks in generated kernels and the errors they raise. numba passes an exception only numbers,
tuples and constant strings, so each message is put together here, in Python."""
import numba


class OutOfBounds(IndexError):
    """An element read or write outside its array, found before the loop that would make it
    (extent "up to" / "down to") or at the access itself (extent "")."""

    def __str__(self) -> str:
        where, access, array, axis, extent, index, length = self.args
        return (f"{where}: `{access}` indexes {array} at {extent}{index}, out of bounds for axis {axis} "
                f"of length {length} (Python would raise IndexError here)")


@numba.njit(cache=True)
def broadcastable(a: tuple, b: tuple) -> bool:
    """numpy's rule: trailing dimensions agree, or one of them is 1."""
    for k in range(1, min(len(a), len(b)) + 1):
        p, q = a[len(a) - k], b[len(b) - k]
        if p != q and p != 1 and q != 1:
            return False
    return True


class ShapeMismatch(ValueError):
    """Arrays combined elementwise whose shapes do not broadcast, in numpy's words."""

    def __str__(self) -> str:
        where, source, a, b = self.args
        shapes = " ".join(str(tuple(s)) for s in (a, b))
        return f"{where}: `{source}`: operands could not be broadcast together with shapes {shapes}"
