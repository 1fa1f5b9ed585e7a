"""Bad input gets an error naming the construct, the user's file and line, and what to write instead."""
import inspect
import os
import re
import traceback

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
    (bad.is_comparison, adc.UnsupportedSyntaxError, "`is` and `in` comparisons are not supported"),
    (bad.in_comparison, adc.UnsupportedSyntaxError, "`is` and `in` comparisons are not supported"),
    (bad.shifts, adc.UnsupportedSyntaxError, "shift operators are not supported"),
    (bad.dict_literal, adc.UnsupportedSyntaxError, "dicts are not supported"),
    (bad.list_comprehension, adc.UnsupportedSyntaxError, "list comprehensions are not supported"),
    (bad.uses_fstring, adc.UnsupportedSyntaxError, "f-strings are not supported"),
    (bad.uses_del, adc.UnsupportedSyntaxError, "`del` is not supported"),
    (bad.imports_inside, adc.UnsupportedSyntaxError, "import at module level"),
    (bad.raises, adc.UnsupportedSyntaxError, "`raise` is not supported"),
    (bad.asserts_with_a_computed_message, adc.UnsupportedSyntaxError, "the message of `assert` must be a string literal"),
    (bad.uses_walrus, adc.UnsupportedSyntaxError, "the walrus operator"),
    (bad.star_args, adc.UnsupportedSyntaxError, "only plain positional parameters"),
    (bad.for_else, adc.UnsupportedSyntaxError, "`else` on a loop is not supported"),
    (bad.reserved_name, adc.UnsupportedSyntaxError, "reserves for generated code"),
    (bad.no_return, adc.UnsupportedSyntaxError, "must end with `return"),
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


@pytest.mark.parametrize("fn, args, cls, words", [
    (bad.unsupported_numpy_call, (np.ones(4),), adc.UnsupportedCallError, "adc does not know np.polyval"),
    (bad.unknown_numpy_function, (np.ones(4),), adc.UnsupportedCallError, "adc does not know np.median"),
    (bad.unknown_function, (np.ones(4),), adc.UnknownNameError, "unknown name `undefined_helper`"),
    (bad.iterates_over_a_number, (1.5,), adc.TypeCheckError, "argument `x` is a number (float64) where "
                                                            "iterates_over_a_number uses it as an array"),
    (bad.bitwise_and, (3, 1.0), adc.UnsupportedSyntaxError, "`&` is supported on booleans (masks, comparisons) only"),
    (bad.invert, (1.0,), adc.UnsupportedSyntaxError, "`~` is supported on booleans (masks, comparisons) only"),
    (bad.slice_assignment_of_higher_rank, (np.ones(4),), adc.TypeCheckError, "2-d array cannot be stored into a 1-d slice"),
    (bad.defined_only_in_loop, (np.ones(4),), adc.UnknownNameError, "give it a value before the loop"),
    (bad.array_condition, (np.ones(4),), adc.TypeCheckError, "the condition is an array"),
    (bad.complex_into_real_array, (1.0,), adc.TypeCheckError, "complex value cannot be stored"),
    (bad.range_outside_for, (1.0,), adc.UnsupportedSyntaxError, "only as the iterable of a `for` loop"),
    (bad.unknown_method, (np.ones(4),), adc.UnsupportedCallError, "the method `.sort()` is not supported"),
    (bad.rfft_of_complex, (np.ones(4, complex),), adc.TypeCheckError, "rfft needs a real array"),
    (bad.ordering_complex, (1j,), adc.TypeCheckError, "complex numbers cannot be ordered"),
    (bad.reads_global_array, (1.0,), adc.TypeCheckError, "convert it, or pass it as an argument"),
    (bad.helper_recursion, (1.0,), adc.UnsupportedCallError, "recursive call"),
    (bad.real_with_two_arguments, (np.ones(4, complex),), adc.UnsupportedCallError, "at most 1 positional argument"),
], ids=lambda p: getattr(p, "__name__", None) if callable(p) else "")
def test_refused_at_first_call_with_the_line(fn, args, cls, words):
    f = adc.differentiate(fn, backend="python")
    with pytest.raises(cls) as info:
        f(*args)
    assert words in str(info.value)
    if fn is not bad.helper_recursion:
        assert info.value.lineno == marked_line(fn)
    assert info.value.filename.endswith("bad_programs.py")


def test_refusals_say_what_to_write_instead():
    f = adc.differentiate(bad.unsupported_numpy_call, backend="python")
    with pytest.raises(adc.UnsupportedCallError, match="Horner's rule in a loop"):
        f(np.ones(4))
    g = adc.differentiate(bad.unknown_numpy_function, backend="python")
    with pytest.raises(adc.UnsupportedCallError, match="docs/subset.md"):
        g(np.ones(4))


def test_function_defined_at_a_repl_cannot_be_read():
    namespace = {}
    exec("def typed_in(x):\n    return x * 2.0\n", namespace)
    with pytest.raises(adc.SourceNotFoundError, match="define it in a .py file"):
        adc.differentiate(namespace["typed_in"])


def test_zero_dimensional_arrays_are_refused():
    f = adc.differentiate(bad.returns_array, backend="python")
    with pytest.raises(TypeError, match="0-d array"):
        f(np.array(1.0))


def test_unknown_options_are_value_errors():
    with pytest.raises(ValueError, match="unknown backend"):
        adc.differentiate(bad.returns_array, backend="cuda-please")
    with pytest.raises(ValueError, match="unknown complex_grad"):
        adc.differentiate(bad.returns_array, complex_grad="polar")


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


def test_reverse_mode_refusals_name_the_users_line():
    """A construct only reverse mode cannot do: the primal and forward mode run; grad names the line."""
    f = adc.differentiate(bad.broadcast_into_four_dims, wrt=("x", "v"), backend="python")
    x, v = np.ones((2, 2, 2, 3)), np.arange(3.0)
    assert f(x, v) == pytest.approx(np.sum(x * v))
    with pytest.raises(adc.CompileError, match="broadcasting a 1-d array against 4-d") as info:
        f.grad(x, v)
    assert info.value.filename.endswith("bad_programs.py")
    assert info.value.lineno == marked_line(bad.broadcast_into_four_dims)
    assert info.value.col_offset > 0


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_shapes_are_checked_as_numpy_checks_them(backend):
    """A cotangent of the wrong length, and a product of mismatched shapes, raise instead of reading
    past an array's end."""
    f = adc.differentiate(bad.returns_array, backend=backend)
    x = np.linspace(0.0, 1.0, 8)
    _, g = f.vjp(x, cotangent=np.ones(8))
    np.testing.assert_allclose(g, np.full(8, 2.0))  # d(2x)/dx along ones
    with pytest.raises(ValueError, match="cotangent of the result must have its shape"):
        f.vjp(x, cotangent=np.ones(3))
    product = adc.differentiate(bad.mismatched_product, backend=backend)
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        product(np.ones((3, 4)), np.ones(5))
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        product.grad(np.ones((3, 4)), np.ones(5))


@pytest.mark.parametrize("fn, words", [
    (bad.view_before_a_loop_that_rebinds_its_base, "a view taken before the loop still looks into it"),
    (bad.loop_hands_on_an_outside_array, "hands on an array from outside the loop"),
])
def test_carried_arrays_shared_across_steps_are_refused_by_reverse_mode(fn, words):
    """Found by the fuzzer giving wrong gradients: now refused, located; the primal and jvp still run."""
    x = np.array([0.12573, -0.132105])
    args = (x,) if fn is bad.view_before_a_loop_that_rebinds_its_base else (x, np.array([0.3, 0.4]))
    f = adc.differentiate(fn, wrt=0, backend="python")
    assert f(*[a.copy() for a in args]) == pytest.approx(fn(*[a.copy() for a in args]), rel=1e-14)
    with pytest.raises(adc.CompileError, match=words) as info:
        f.grad(*args)
    assert info.value.filename.endswith("bad_programs.py")
    assert info.value.lineno == marked_line(fn)


# -- tracebacks: the user's frames, not adc's ------------------------------------------------------------

ADC_DIRS = tuple(os.path.dirname(m.__file__) + os.sep for m in (adc, adc.runtime))


def shown_files(exc) -> list[str]:
    """The file of every frame a printed traceback of exc shows, chained exceptions included."""
    return re.findall(r'File "([^"]+)"', "".join(traceback.format_exception(exc)))


def refused_at_first_call(x):
    return np.polyval(x, 2.0)


def refused_tracebacks() -> list[BaseException]:
    errors = []
    for call in (lambda: adc.differentiate(bad.uses_try),
                 lambda: adc.differentiate(wrt="x")(bad.uses_try),
                 lambda: adc.differentiate(refused_at_first_call, backend="python")(np.ones(3)),
                 lambda: adc.differentiate(bad.broadcast_into_four_dims, wrt=("x", "v"), backend="python")
                 .grad(np.ones((2, 2, 2, 3)), np.ones(3)),
                 lambda: adc.differentiate(bad.returns_array, backend="python").vjp(np.ones(8), cotangent=np.ones(3)),
                 lambda: adc.differentiate(bad.returns_array).vjp(np.ones(8), cotangent=np.ones(3))):
        with pytest.raises(Exception) as info:
            call()
        errors.append(info.value)
    return errors


def test_tracebacks_show_no_frame_of_adc_by_default(monkeypatch):
    monkeypatch.delenv("ADC_TRACEBACK", raising=False)
    for exc in refused_tracebacks():
        files = shown_files(exc)
        assert files and not [f for f in files if f.startswith(ADC_DIRS)], "".join(traceback.format_exception(exc))
        assert "ADC_TRACEBACK=full" in "".join(traceback.format_exception(exc))


def test_adc_traceback_full_shows_every_frame(monkeypatch):
    monkeypatch.setenv("ADC_TRACEBACK", "full")
    for exc in refused_tracebacks():
        assert [f for f in shown_files(exc) if f.startswith(ADC_DIRS)]


def test_the_python_backend_keeps_the_generated_kernels_line(monkeypatch):
    """A runtime error inside the kernel: its generated line (under the comment naming the user's) stays."""
    monkeypatch.delenv("ADC_TRACEBACK", raising=False)
    f = adc.differentiate(bad.returns_array, backend="python")
    with pytest.raises(ValueError) as info:
        f.vjp(np.ones(8), cotangent=np.ones(3))
    assert os.path.basename(shown_files(info.value)[-1]).startswith("adc_generated_returns_array")


def test_a_refusal_raised_again_shows_only_the_new_calls_frames(monkeypatch):
    monkeypatch.delenv("ADC_TRACEBACK", raising=False)
    f = adc.differentiate(bad.broadcast_into_four_dims, wrt=("x", "v"), backend="python")
    lengths = []
    for _ in range(3):
        with pytest.raises(adc.CompileError) as info:
            f.grad(np.ones((2, 2, 2, 3)), np.ones(3))
        lengths.append(len(traceback.extract_tb(info.value.__traceback__)))
        assert len(info.value.__notes__) == 1
    assert lengths == [1, 1, 1], "the test's own frame, once"


# -- messages a user can act on ---------------------------------------------------------------------------

def writes_into(x):
    x[0] = 2.0 * x[1]  # <- error
    return np.sum(x * x)


def test_a_read_only_argument_the_function_writes_into(backend):
    f = adc.differentiate(writes_into, backend=backend)
    x = np.arange(3.0)
    x.setflags(write=False)
    line = marked_line(writes_into)
    with pytest.raises(ValueError, match=rf"argument `x` is read-only, but writes_into\(\) writes into it at "
                                         rf".*test_errors.py:{line} .*pass a writable copy \(`x.copy\(\)`\)"):
        f(x)
    np.testing.assert_allclose(f.grad(x), [0.0, 8.0 + 2.0, 4.0])  # derivatives work on copies
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])


def scaled_sum(x, g=2.0):
    return np.sum(x) * g


def test_default_arguments_are_filled_in(backend):
    f = adc.differentiate(scaled_sum, backend=backend)
    x = np.arange(4.0)
    assert f(x) == scaled_sum(x) == 12.0
    assert f(x, 3.0) == f(x, g=3.0) == f(g=3.0, x=x) == 18.0
    np.testing.assert_allclose(f.grad(x), np.full(4, 2.0))
    assert f.jvp(x, tangents=np.ones(4)) == (12.0, 8.0)
    by_g = adc.differentiate(scaled_sum, wrt="g", backend=backend)
    assert by_g.grad(x) == by_g.grad(x, g=5.0) == 6.0
    with pytest.raises(TypeError, match=r"scaled_sum\(\) takes 2 arguments \(x, g=2.0\): "
                                        r"missing a required argument: 'x'"):
        f(g=1.0)


class Model:
    @adc.differentiate
    def loss(self, x):
        return np.sum(x)

    energy = adc.differentiate(scaled_sum)  # a module-level function kept on a class: no `self`


def test_a_decorated_method_is_refused_with_what_to_write():
    with pytest.raises(TypeError, match=r"Model.loss is a method.*cannot take `self` \(the Model object\)"
                                        r".*Decorate a function at module level"):
        Model().loss(np.ones(3))
    with pytest.raises(TypeError, match="is a method"):
        Model().loss.grad(np.ones(3))
    assert Model().energy(np.ones(2)) == 4.0
    assert isinstance(Model.loss, adc.Differentiated)


def scale(a, x):
    return a * np.sum(x)


def test_an_array_tangent_for_a_number():
    f = adc.differentiate(scale, wrt=("a", "x"), backend="python")
    with pytest.raises(ValueError, match=r"tangent of `a` must be a number like the argument \(a float\), "
                                         r"not an array of shape \(3,\)"):
        f.jvp(1.0, np.ones(3), tangents=(np.ones(3), np.ones(3)))


def test_an_array_cotangent_for_a_number(backend):
    f = adc.differentiate(scale, backend=backend)
    with pytest.raises(ValueError, match=r"the result is a number \(float64\), so its cotangent is one too, "
                                         r"not an array of shape \(3,\)"):
        f.vjp(1.0, np.ones(3), cotangent=np.ones(3))


def energy(x):
    s = 0.0
    for n in range(x.shape[0]):  # <- error
        s += x[n] * x[n]
    return s


def first_sample(x):
    return 2.0 * x[0]  # <- error


@pytest.mark.parametrize("fn", [energy, first_sample])
def test_a_number_passed_where_the_function_uses_an_array(fn):
    with pytest.raises(adc.TypeCheckError, match=rf"argument `x` is a number \(float64\) where {fn.__name__} "
                                                 "uses it as an array: pass a numpy array") as info:
        adc.differentiate(fn, backend="python")(1.5)
    assert info.value.lineno == marked_line(fn)


def long_recurrence(x, n):
    s = x
    for _ in range(n):  # <- error
        s = np.sin(s) * x
    return s


def test_a_tape_that_does_not_fit_names_the_loop(backend):
    f = adc.differentiate(long_recurrence, backend=backend)
    assert f.grad(0.5, 1) == pytest.approx(np.cos(0.5) * 0.5 + np.sin(0.5))
    with pytest.raises(MemoryError, match=rf"long_recurrence ran out of memory in reverse mode .*the loop at "
                                          rf".*test_errors.py:{marked_line(long_recurrence)} "
                                          r"\(`for _ in range\(n\):  # <- error`\) "
                                          r"on a tape.*Checkpoint the loop: `for t in adc.checkpoint\(range\(N\), snapshots=64\):`") as info:
        f.grad(0.5, 10 ** 17)
    assert "a tape of 800,000,000,000,000,000 bytes" in str(info.value)  # rt.tape says how much it asked for


def real_sum(x):
    return np.sum(x * x)


def test_complex_cotangents_and_tangents_of_real_values_are_refused(backend):
    """numpy would drop the imaginary part with a warning: a silent change of the question asked."""
    f = adc.differentiate(real_sum, backend=backend)
    x = np.ones(3)
    with pytest.raises(ValueError, match="cotangent is real too, not complex"):
        f.vjp(x, cotangent=1.0 + 2.0j)
    with pytest.raises(ValueError, match="tangent of `x` must be real like the argument"):
        f.jvp(x, tangents=np.ones(3) * 1j)
