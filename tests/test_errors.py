"""Bad input gets an error naming the construct, the user's file and line, and what to write instead."""
import inspect

import numpy as np
import pytest

import adc

import bad_programs as bad


def marked_line(fn) -> int:
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if "# <- error" in line)


@pytest.mark.parametrize("fn, cls, words", [
    (bad.uses_try, adc.UnsupportedSyntaxError, "`try` is not supported"),
    (bad.uses_with, adc.UnsupportedSyntaxError, "`with` is not supported"),
    (bad.uses_yield, adc.UnsupportedSyntaxError, "`yield` is not supported"),
    (bad.uses_lambda, adc.UnsupportedSyntaxError, "`lambda` is not supported"),
    (bad.uses_class, adc.UnsupportedSyntaxError, "class definitions are not supported"),
    (bad.uses_global, adc.UnsupportedSyntaxError, "`global` is not supported"),
    (bad.uses_nested_def, adc.UnsupportedSyntaxError, "nested function definitions"),
    (bad.early_return, adc.UnsupportedSyntaxError, "`return` is supported only as the last statement"),
    (bad.uses_list, adc.UnsupportedSyntaxError, "lists are not supported"),
], ids=lambda p: getattr(p, "__name__", ""))
def test_unsupported_syntax_is_refused_at_decoration(fn, cls, words):
    with pytest.raises(cls) as info:
        adc.differentiate(fn)
    err = info.value
    assert words in str(err)
    assert err.filename == inspect.getsourcefile(fn)
    assert err.lineno == marked_line(fn)
    assert err.col_offset >= 0
    assert f"bad_programs.py:{err.lineno}" in str(err)


@pytest.mark.parametrize("fn, cls, words", [
    (bad.unsupported_numpy_call, adc.UnsupportedCallError, "cannot differentiate calls to"),
    (bad.unknown_function, adc.UnknownNameError, "unknown name `undefined_helper`"),
], ids=lambda p: getattr(p, "__name__", ""))
def test_unknown_calls_are_refused_at_first_call(fn, cls, words):
    f = adc.differentiate(fn, backend="python")
    with pytest.raises(cls) as info:
        f(np.ones(4))
    assert words in str(info.value)
    assert info.value.lineno == marked_line(fn)
    assert "docs/subset.md" in str(info.value) or "define it" in str(info.value)


def test_compile_errors_are_compile_error_subclasses():
    assert issubclass(adc.UnsupportedSyntaxError, adc.CompileError)
    assert issubclass(adc.UnsupportedCallError, adc.CompileError)
    assert issubclass(adc.UnknownNameError, adc.CompileError)


def test_grad_of_a_non_scalar_result_is_a_type_error():
    f = adc.differentiate(bad.returns_array, backend="python")
    with pytest.raises(TypeError, match="grad needs a scalar result.*use vjp"):
        f.grad(np.ones(3))


def test_wrt_naming_an_integer_argument_is_a_type_error_before_compiling():
    f = adc.differentiate(bad.int_loop_counter, wrt="n", backend="python")
    with pytest.raises(TypeError, match="integer or boolean argument"):
        f.grad(1.0, 3)
    assert f._specs == {}, "nothing was compiled"


def test_wrt_naming_no_parameter_is_a_value_error_at_decoration():
    with pytest.raises(ValueError, match="'z', which is not a parameter"):
        adc.differentiate(bad.int_loop_counter, wrt="z")
    with pytest.raises(ValueError, match="out of range"):
        adc.differentiate(bad.int_loop_counter, wrt=5)


def test_unsupported_argument_types_are_type_errors():
    f = adc.differentiate(bad.returns_array, backend="python")
    with pytest.raises(TypeError, match="argument `x` is a list"):
        f([1.0, 2.0])
    with pytest.raises(TypeError, match="dtype int32"):
        f(np.ones(3, dtype=np.int32))
    with pytest.raises(TypeError, match="takes 1 arguments"):
        f(1.0, 2.0)


def test_lambda_and_builtins_cannot_be_differentiated():
    with pytest.raises(adc.SourceNotFoundError, match="lambda"):
        adc.differentiate(lambda x: x * 2)
    with pytest.raises(TypeError, match="needs a Python function"):
        adc.differentiate(np.sin)
