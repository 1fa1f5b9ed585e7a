"""Errors that point at the user's source: file, line, column and what to write instead."""
from __future__ import annotations


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
