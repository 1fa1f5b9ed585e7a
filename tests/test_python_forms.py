"""Python forms the subset desugars ([4/10]): iteration over arrays, enumerate and zip, returns from both arms
of an `if`, print, assert; and the messages: every refusal of a function in one error, calls into libraries.

Programs run through the fuzzer's oracle (tests/fuzz/oracle.py) with `strict=True`: the primal equals plain
Python, `grad` matches central finite differences, the jvp/vjp dot-product test holds and the numba backend
agrees with the python backend. A refusal fails the test.
"""
import inspect
import statistics
import warnings

import numpy as np
import pytest
from fuzz.oracle import Case, check_case

import adc

HEADER = "import math\nimport numpy as np\n\n\n"
rng = np.random.default_rng(11)


def vec(n):
    return np.round(rng.standard_normal(n), 3)


def mat(r, c):
    return np.round(rng.standard_normal((r, c)), 3)


# name: (source, arguments, wrt)
FORMS = {
    "for_over_vector": ("""
def main(x):
    s = 0.0
    for v in x:
        s += v * math.sin(v)
    return s
""", (vec(5),), ("x",)),
    # numpy iterates a matrix by rows
    "for_over_rows": ("""
def main(A, w):
    s = 0.0
    for row in A:
        s += np.dot(row, w) ** 2
    return s
""", (mat(3, 4), vec(4)), ("A", "w")),
    "nested_rows_and_elements": ("""
def main(A):
    s = 0.0
    for row in A:
        for v in row:
            s += v * v * v
    return s
""", (mat(3, 2),), ("A",)),
    "enumerate": ("""
def main(x):
    s = 0.0
    for i, v in enumerate(x):
        s += (i + 1) * v * v
    return s
""", (vec(5),), ("x",)),
    # zip stops at the shorter
    "zip_of_unequal_lengths": ("""
def main(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s += a * math.cos(b)
    return s
""", (vec(5), vec(4)), ("x", "y")),
    "enumerate_from_a_start": ("""
def main(x, y):
    s = 0.0
    for i, v in enumerate(x, 1):
        s += i * v * v
    for k, (a, b) in enumerate(zip(x, y), start=len(x)):
        s += k * a * b
    return s
""", (vec(4), vec(3)), ("x", "y")),
    "enumerate_of_zip_with_break_and_continue": ("""
def main(x, y):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        if a > 1.2:
            break
        if b < 0.0:
            continue
        s += i * a * b + a
    return s
""", (np.array([0.3, -0.8, 0.5, 0.9, 1.5, 0.2]), np.array([0.4, 0.7, -0.2, 1.1, 0.6, 0.5])), ("x", "y")),
    "for_over_vector_with_break": ("""
def main(x):
    s = 0.0
    for v in x:
        s += v * v
        if s > 1.0:
            break
    return s
""", (np.array([0.5, -0.6, 0.4, 0.8, 0.3]),), ("x",)),
    # the iterable is evaluated once, before the loop
    "expression_iterable": ("""
def main(x):
    s = 0.0
    for v in np.sin(x[1:]):
        s += v * x[0]
    return s
""", (vec(5),), ("x",)),
    # Python iterates the array the name denoted when the loop started
    "iterated_name_rebound_in_the_body": ("""
def main(x):
    s = 0.0
    for v in x:
        x = x * 0.5
        s += v * x[0]
    return s
""", (vec(4),), ("x",)),
    # the element is read at each step: a write ahead of the iteration is seen, as in numpy
    "write_ahead_is_seen": ("""
def main(x):
    s = 0.0
    for i, v in enumerate(x):
        if i + 1 < x.shape[0]:
            x[i + 1] = x[i + 1] + 0.5 * v
        s += v * v
    return s
""", (vec(5),), ("x",)),
    "if_else_both_return": ("""
def main(x, a):
    y = a * x[0]
    if y > 0.0:
        return y * y
    else:
        return math.sin(y)
""", (vec(3), 0.7), ("x", "a")),
    "if_else_both_return_negative_arm": ("""
def main(x, a):
    y = a * x[0]
    if y > 0.0:
        return y * y
    else:
        return math.sin(y)
""", (np.array([-0.4, 0.2]), 0.7), ("x", "a")),
    "if_return_then_return": ("""
def main(x):
    if x[0] > x[1]:
        return x[0] * x[1]
    return x[1] ** 3
""", (np.array([0.2, 0.9]),), ("x",)),
    "elif_chain_then_return": ("""
def main(x, t):
    if t > 1.0:
        return x * x
    elif t > 0.0:
        return math.exp(x) * t
    elif t > -1.0:
        y = x * t
        return y * y
    return -x
""", (0.4, 0.5), ("x", "t")),
    "if_without_return_before_last": ("""
def main(x, t):
    y = x
    if t > 0.0:
        y = x * t
        if y > 2.0:
            return y
    return y * y
""", (0.4, 0.5), ("x", "t")),
    "assert_that_holds": ("""
def main(x, a):
    assert x.shape[0] > 1, "x needs two samples"
    s = 0.0
    for i in range(x.shape[0]):
        assert a > 0.0
        s += a * x[i] ** 2
    return s
""", (vec(4), 0.8), ("x", "a")),
}


@pytest.mark.parametrize("name", list(FORMS))
def test_form(name):
    source, args, wrt = FORMS[name]
    check_case(Case(HEADER + source.lstrip("\n"), args, wrt, numba=True), strict=True)


def test_print_is_dropped_and_the_gradient_kept():
    source = """
def main(x):
    s = 0.0
    for v in x:
        print("v =", v, f"{v:.3f}")
        s += v * v
    if s > 100.0:
        print(s)
    return s
"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_case(Case(HEADER + source.lstrip("\n"), (vec(4),), ("x",), numba=True), strict=True)


# -- defined here, so errors and warnings point into this file ----------------------------------------------
def marked_line(fn) -> int:
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if "# <- here" in line)


def prints(x):
    print("x is", x)  # <- here
    return 2.0 * x


def test_print_warns_at_the_users_line():
    with pytest.warns(UserWarning, match=r"print\(\) is ignored in differentiated code") as record:
        f = adc.differentiate(prints, backend="python")
        assert f.grad(1.5) == 2.0
    assert {(w.filename, w.lineno) for w in record if "print()" in str(w.message)} == {(__file__, marked_line(prints))}


def asserts(x, n):
    assert n > 0, "n must be positive"  # <- here
    assert x < 10.0
    return x * x * n


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_a_failing_assert_raises_in_the_primal(backend):
    f = adc.differentiate(asserts, backend=backend)
    line = marked_line(asserts)
    assert f(3.0, 2) == 18.0
    assert f.grad(3.0, 2) == 12.0
    for call in (lambda: f(3.0, 0), lambda: f.grad(3.0, 0)):
        with pytest.raises(AssertionError) as info:
            call()
        assert info.value.args == (f"test_python_forms.py:{line}: n must be positive",)
    with pytest.raises(AssertionError) as info:
        f.grad(12.0, 1)
    assert info.value.args == (f"test_python_forms.py:{line + 1}: `assert x < 10.0` failed",)


def test_assert_holds_in_forward_mode_and_hvp():
    f = adc.differentiate(asserts, backend="python")
    assert f.jvp(3.0, 2, tangents=1.0) == (18.0, 12.0)
    assert f.hvp(3.0, 2, tangents=1.0)[1] == 4.0
    with pytest.raises(AssertionError, match="n must be positive"):
        f.hvp(3.0, -1, tangents=1.0)


def returns_tuples(x):
    if x > 0.0:
        return x, 2.0 * x
    return -x, 3.0 * x


def test_both_arms_return_tuples():
    f = adc.differentiate(returns_tuples, backend="python")
    assert f(2.0) == (2.0, 4.0)
    assert f(-1.0) == (1.0, -3.0)


def returns_early(x):
    if x > 0.0:
        return x  # <- here
    y = x * x
    return y


def returns_in_one_arm_only(x):
    if x > 0.0:  # <- here
        return x


def asserts_with_a_computed_message(x):
    assert x > 0.0, str(x)  # <- here
    return x


@pytest.mark.parametrize("fn, words", [
    (returns_early, "`return` is supported only as the last statement"),
    (returns_in_one_arm_only, "the function must end with `return <value>`"),
    (asserts_with_a_computed_message, "the message of `assert` must be a string literal"),
], ids=lambda p: getattr(p, "__name__", ""))
def test_returns_elsewhere_stay_refused(fn, words):
    with pytest.raises(adc.UnsupportedSyntaxError) as info:
        adc.differentiate(fn, backend="python")
    assert str(info.value) == f"{__file__}:{marked_line(fn)}:{info.value.col_offset}: {info.value.message}"
    assert info.value.message.startswith(words)


def many_refusals(x):
    y = [x, x]  # <- here
    try:
        y = x
    except ValueError:
        pass
    f = lambda v: v  # noqa: E731, F841
    return y


def test_every_refusal_is_reported_at_once():
    with pytest.raises(adc.UnsupportedSyntaxError) as info:
        adc.differentiate(many_refusals, backend="python")
    err = info.value
    first = marked_line(many_refusals)
    assert (err.filename, err.lineno, err.col_offset) == (__file__, first, 8)
    assert err.message.splitlines() == [
        "3 constructs are outside the differentiable subset:",
        f"  {__file__}:{first}:8: lists are not supported: use a numpy array (np.zeros(n), np.empty(n)) or a tuple",
        f"  {__file__}:{first + 1}:4: `try` is not supported: differentiated code cannot catch exceptions; "
        "check the condition with `if` instead",
        f"  {__file__}:{first + 5}:8: `lambda` is not supported: define a module-level function with `def` and call it",
    ]


def calls_a_numpy_function(x):
    w = np.asarray_chkfinite(x)  # <- here: numpy's own Python code
    return np.dot(w, x)


def calls_the_standard_library(x):
    return statistics.fmean(x) * 2.0  # <- here


@pytest.mark.parametrize("fn", [calls_a_numpy_function, calls_the_standard_library], ids=lambda f: f.__name__)
def test_library_functions_are_not_inlined(fn):
    """Their source is not written in the subset: the refusal names the user's call, not a line of numpy."""
    f = adc.differentiate(fn, backend="python")
    with pytest.raises(adc.UnsupportedCallError) as info:
        f(np.ones(4))
    assert (info.value.filename, info.value.lineno) == (__file__, marked_line(fn))
    assert "docs/subset.md" in info.value.message
    assert f"adc does not know {fn.__code__.co_names[0] if fn is calls_the_standard_library else 'np'}." in info.value.message
