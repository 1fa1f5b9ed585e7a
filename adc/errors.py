"""Errors that point at the user's source: file, line, column and what to write instead."""
from __future__ import annotations

import functools
import os
import sys
import types


class CompileError(Exception):
    """A function outside the differentiable subset, located in the user's source."""

    def __init__(self, message: str, filename: str = "<unknown>", lineno: int = 0, col_offset: int = 0):
        self.filename = filename
        self.lineno = lineno
        self.col_offset = col_offset
        self.message = message
        super().__init__(f"{filename}:{lineno}:{col_offset}: {message}")


class UnsupportedSyntaxError(CompileError):
    """A Python construct the subset does not have (try, with, lambda, class, ...)."""


class UnsupportedCallError(CompileError):
    """A call to a function adc has no derivative rule for and cannot inline."""


class UnknownNameError(CompileError):
    """A name that is neither a local, a parameter, a closure variable nor a global."""


class TypeCheckError(CompileError):
    """Values whose types do not fit the operation (a complex stored into a real array, ...)."""


class SourceNotFoundError(CompileError):
    """The function's source cannot be read (defined in a REPL, a lambda, a built-in)."""


TRACEBACK_VARIABLE = "ADC_TRACEBACK"  # "full": tracebacks keep adc's own frames
HIDDEN_NOTE = f"(adc hid its own frames from this traceback; set {TRACEBACK_VARIABLE}=full to see them)"


def api_boundary(call):
    """A public call whose errors show the user's frames only, as JAX filters its tracebacks.

    What is left of a traceback is the user's code and, with backend="python", the generated kernel's
    lines; the frames of adc, of its runtime and of numba go (they are how adc works, not what the user
    wrote). The variable is read at each raise, so it can be set in a running session.
    """
    @functools.wraps(call)
    def public(*args, **kwargs):
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            here = sys._getframe()
            if os.environ.get(TRACEBACK_VARIABLE) != "full" and not _called_from(here.f_code, here.f_back):
                _hide_internal_frames(exc)
            raise  # a bare raise adds no frame of its own
    return public


def _called_from(code, frame) -> bool:
    """Another public call is on the stack (grad calls value_and_grad): the outermost one filters."""
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


@functools.cache
def _internal_dirs() -> tuple[str, ...]:
    import numba

    from . import runtime
    return tuple(os.path.dirname(m.__file__) + os.sep for m in (sys.modules[__package__], runtime, numba))


def _hide_internal_frames(exc: Exception) -> None:
    entries, tb = [], exc.__traceback__
    while tb is not None:
        entries.append(tb)
        # a stored refusal raised again still carries the frames of its earlier raises, after this call's
        if tb.tb_next is not None and tb.tb_next.tb_frame.f_back is not tb.tb_frame:
            break
        tb = tb.tb_next
    kept = None
    for tb in reversed(entries):
        if not tb.tb_frame.f_code.co_filename.startswith(_internal_dirs()):
            kept = types.TracebackType(kept, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    exc.with_traceback(kept)
    if HIDDEN_NOTE not in getattr(exc, "__notes__", ()) and hasattr(exc, "add_note"):  # Python 3.11+
        exc.add_note(HIDDEN_NOTE)
