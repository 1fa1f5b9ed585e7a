"""Errors raised by generated kernels. numba passes an exception only numbers and constant strings,
so the message is put together here, in Python."""


class OutOfBounds(IndexError):
    """An element read or write outside its array, found before the loop that would make it
    (extent "up to" / "down to") or at the access itself (extent "")."""

    def __str__(self) -> str:
        where, access, array, axis, extent, index, length = self.args
        return (f"{where}: `{access}` indexes {array} at {extent}{index}, out of bounds for axis {axis} "
                f"of length {length} (Python would raise IndexError here)")
