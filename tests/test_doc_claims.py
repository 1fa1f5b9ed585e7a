"""docs/subset.md against adc: every function it names as accepted is accepted (and computes what
Python computes, with a gradient that matches central differences), and every refusal it lists is
refused with the message it quotes, pointing at the line.

The lists of numpy/math/cmath functions and the table of refusals are read from the page itself,
so a name added to the page is tested and a refusal added to the page needs a program here. The
other spellings the page names (constructors, attributes, Fourier, ...) are mirrored in tables
below, each checked to appear on the page. Everything runs with backend="python": no numba
compiling, a few seconds in all.
"""
import cmath
import math
import re
from pathlib import Path

import numpy as np
import pytest

import adc

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "subset.md").read_text()


def section(title: str) -> str:
    start = PAGE.index(f"\n## {title}\n")
    end = PAGE.find("\n## ", start + 1)
    return PAGE[start:end if end >= 0 else len(PAGE)]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the first markdown table in `text`, as cells (`\\|` is a literal bar)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip("|"))]
        rows.append(cells)
    assert len(rows) > 2, "no table found"
    return [r for r in rows[2:]]  # drop the header and the --- row


def plain(text: str) -> str:
    """Markdown and messages compared without backticks or repeated spaces."""
    return " ".join(text.replace("`", "").split())


def function_names(row_label: str) -> list[str]:
    for cells in table_rows(section("Functions")):
        if cells[0] == row_label:
            (names,) = re.findall(r"^`([^`]*)`", cells[1])
            return names.split()
    raise AssertionError(f"docs/subset.md has no Functions row {row_label!r}")


def central_differences(fn, args, wrt, h=1e-6):
    """d fn / d args[i] for each i in wrt, entry by entry; complex entries as d/dx + 1j d/dy."""
    grads = []
    for i in wrt:
        base = args[i]
        shape = np.shape(base)
        flat = np.array(base, dtype=complex if np.iscomplexobj(base) else float).ravel()
        g = np.zeros(flat.shape, dtype=flat.dtype)
        for k in range(flat.size):
            for step, weight in ((h, 1.0), (1j * h, 1j)) if np.iscomplexobj(base) else ((h, 1.0),):
                up, down = flat.copy(), flat.copy()
                up[k] += step
                down[k] -= step
                value = []
                for v in (up, down):
                    a = list(args)
                    a[i] = v.reshape(shape) if shape else v[0].item()
                    value.append(fn(*a))
                g[k] += weight * (value[0] - value[1]) / (2 * h)
        grads.append(g.reshape(shape) if shape else g[0].item())
    return grads


def check_accepted(fn, args, wrt=(0,), grad=True):
    """adc's primal equals the plain function, and its gradient equals central differences."""
    f = adc.differentiate(fn, wrt=tuple(wrt), backend="python")
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    expected = fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    got = f(*copies)
    for g, e in zip(got if isinstance(expected, tuple) else (got,), expected if isinstance(expected, tuple) else (expected,)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)
        assert np.asarray(g).dtype == np.asarray(e).dtype or np.asarray(e).dtype == object
    if grad:
        grads = f.grad(*args)
        for g, fd in zip(grads, central_differences(fn, args, wrt)):
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


# -- the numpy, math and cmath functions the page lists ------------------------------------------

def np_one(func):
    def program(x):
        return np.sum(0.5 * x + func(x))
    return program


def np_two(func):
    def program(x, y):
        return np.sum(func(x, y))
    return program


def math_one(func):
    def program(x):
        return 0.5 * x + func(x)
    return program


def math_two(func):
    def program(x, y):
        return func(x, y)
    return program


def cmath_one(func):
    def program(z):
        return abs(func(z))
    return program


def cmath_real(func):
    def program(z):
        return func(z)
    return program


X = np.array([0.2, 0.45, 0.7])  # inside every listed function's domain, away from integers
Y = np.array([0.6, 0.3, 0.5])   # no ties with X
Z = 0.3 + 0.2j
MATH_TWO_ARGUMENTS = {"atan2", "hypot"}
CMATH_REAL_RESULT = {"phase"}


@pytest.mark.parametrize("name", function_names("`np.` functions, one argument"))
def test_numpy_function_of_one_argument_is_accepted(name):
    check_accepted(np_one(getattr(np, name)), (X.copy(),))


@pytest.mark.parametrize("name", function_names("`np.` functions, two arguments"))
def test_numpy_function_of_two_arguments_is_accepted(name):
    check_accepted(np_two(getattr(np, name)), (X.copy(), Y.copy()), wrt=(0, 1))


@pytest.mark.parametrize("name", function_names("`math.` functions"))
def test_math_function_is_accepted(name):
    if name in MATH_TWO_ARGUMENTS:
        check_accepted(math_two(getattr(math, name)), (0.45, 0.6), wrt=(0, 1))
    else:
        check_accepted(math_one(getattr(math, name)), (0.45,))


@pytest.mark.parametrize("name", function_names("`cmath.` functions"))
def test_cmath_function_is_accepted(name):
    program = (cmath_real if name in CMATH_REAL_RESULT else cmath_one)(getattr(cmath, name))
    check_accepted(program, (Z,))


def floor_and_ceil(x, y):
    return math.floor(x) + math.ceil(y)


def test_math_floor_and_ceil_return_integers_as_in_python():
    got = adc.differentiate(floor_and_ceil, backend="python")(1.5, 2.5)
    assert got == floor_and_ceil(1.5, 2.5) == 4 and isinstance(got, (int, np.integer))


def test_functions_that_refuse_complex_values():
    sentence = plain(section("Functions"))
    names = re.search(r"floor, ceil, sign, arctan2, hypot, maximum, minimum refuse complex values", sentence)
    assert names, "the page's list of functions that refuse complex values changed: update this test"
    for func in (np.floor, np.ceil, np.sign):
        with pytest.raises(adc.TypeCheckError, match="not defined for complex numbers"):
            adc.differentiate(cmath_one(func), backend="python")(Z)
    for func in (np.arctan2, np.hypot, np.maximum, np.minimum):
        with pytest.raises(adc.TypeCheckError, match="not defined for complex numbers"):
            adc.differentiate(np_two(func), backend="python")(np.array([Z]), np.array([Z]))


# -- builtins --------------------------------------------------------------------------------

def uses_abs(x):
    return abs(x - 1.0)


def uses_min(x, y):
    return min(x, y, 0.4)


def uses_max(x, y):
    return max(x, y) + max(x, y, 0.1)


def uses_int(x):
    return x * int(x * 3.0)


def uses_float(x):
    n = 3
    return x * float(n)


def uses_complex(x, y):
    return abs(complex(x, y))


def uses_bool(x):
    flag = bool(x > 0.3)
    return x * 2.0 if flag else x


def uses_len(x):
    return np.sum(x) * len(x)


def uses_range(x):
    s = 0.0
    for i in range(1, len(x), 2):
        s += x[i]
    return s


BUILTINS = {
    "abs": (uses_abs, (0.45,), (0,)),
    "min": (uses_min, (0.45, 0.6), (0, 1)),
    "max": (uses_max, (0.45, 0.6), (0, 1)),
    "int": (uses_int, (0.45,), (0,)),
    "float": (uses_float, (0.45,), (0,)),
    "complex": (uses_complex, (0.45, 0.6), (0, 1)),
    "bool": (uses_bool, (0.45,), (0,)),
    "len": (uses_len, (X.copy(),), (0,)),
    "range": (uses_range, (np.arange(5.0),), (0,)),
}


def test_builtins_row_lists_what_is_tested():
    (cells,) = [c for c in table_rows(section("Functions")) if c[0] == "builtins"]
    names = re.findall(r"`([a-z]+)", re.sub(r"\([^)]*\)", "", cells[1]))  # not what the notes in brackets name
    assert set(names) == set(BUILTINS)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_is_accepted(name):
    fn, args, wrt = BUILTINS[name]
    check_accepted(fn, args, wrt)


# -- the other spellings the page names -----------------------------------------------------------

def constructors(x):
    e = np.empty(3)
    e[:] = 1.5
    e_like = np.empty_like(x)
    e_like[:] = 0.5
    a = np.zeros(3) + np.ones(3) + e
    b = np.zeros((2, 3), dtype=np.complex128)
    b[0, 1] = x[0]
    c = np.zeros_like(x) + np.ones_like(x, dtype=np.float64) + e_like
    d = np.full_like(x, 2.0) + np.copy(x) + x.copy() + np.arange(3) + np.arange(1, 4) + np.arange(0, 6, 2)
    return np.sum(a * x) + abs(np.sum(b)) + np.sum(c * x) + np.sum(d * x) + np.sum(x.astype(np.complex128).real * x)


def float32_values(x):
    y = x.astype(np.float32)
    return np.sum(y * np.float32(2.0))


def attributes(m):
    t = m.T
    m[0, 1] = 5.0  # t is a view: it sees the write
    return np.sum(t * t) * m.shape[0] + m.ndim + m.size


def complex_parts(z):
    w = complex(z.real, z.imag) + 1j + z.conjugate() * np.conj(z) + np.conjugate(z)
    return np.real(w) + np.imag(w) + abs(w) + np.abs(w) + np.angle(w) + cmath.phase(w) + abs(w / (z + 2.0))


def reductions(x):
    return np.sum(x) + np.mean(x) + x.sum() + x.mean()


def products(m, x):
    return np.dot(x, x) + np.sum(m @ x) + x.dot(x) + np.sum(np.dot(m, m))


def fourier(x):
    n = x.shape[0] + 2
    a = np.sum(np.abs(np.fft.fft(x, n, norm="ortho"))) + np.sum(np.abs(np.fft.ifft(x, axis=0)))
    b = np.sum(np.fft.irfft(np.fft.rfft(x, n=n), n=n)) + np.sum(adc.dct(x, type=3, norm="ortho")) + np.sum(adc.dct(x))
    m = np.zeros((2, x.shape[0]))
    m[0, :] = x
    m[1, :] = 2.0 * x
    c = np.sum(np.abs(np.fft.fft2(m, norm="ortho"))) + np.sum(np.abs(np.fft.ifft2(m)))
    d = np.sum(np.abs(np.fft.fftn(m, axes=(1,)))) + np.sum(np.abs(np.fft.ifftn(m)))
    e = np.sum(np.fft.fftshift(x) * x) + np.sum(np.fft.ifftshift(m, axes=(1,)) * m)
    return a + b + c + d + e


def maximum_minimum_broadcast(m, v):
    return np.sum(np.maximum(m, v) - np.minimum(m, 0.5))


def helper_with_keywords(x):
    return scaled(x, k=3.0) + scaled(x)


def scaled(x, k=2.0):
    return x * k


def statements(x):
    s = 0.0
    i = 0
    while i < x.shape[0] and s < 10.0:
        if x[i] < 0.0:
            i += 1
            continue
        elif x[i] > 5.0:
            break
        else:
            s += x[i] ** 2 % 7.0 + x[i] // 1.0
        i += 1
    a, b = s, 2.0
    a, b = b, a
    return a * b if 0.0 < s < 100.0 else -s


BOX = np.array([[0.2, 0.9], [0.7, 0.4]])
LOOP = np.array([1.5, -1.0, 0.5, 6.0, 1.0])
SPELLINGS = [  # (program, its arguments, the spellings on the page it uses)
    (constructors, (X.copy(),), ["np.zeros", "np.ones", "np.empty", "np.zeros_like", "np.ones_like",
                                 "np.empty_like", "np.full_like", "np.copy", "x.copy()", "np.arange",
                                 "x.astype(dtype)", "dtype="]),
    (float32_values, (X.copy(),), ["np.float32(...)", "x.astype(dtype)"]),
    (attributes, (np.arange(4.0).reshape(2, 2),), ["x.T", "x.shape", "x.ndim", "x.size"]),
    (complex_parts, (Z,), [".real", ".imag", ".conjugate()", "np.conj", "np.conjugate", "np.real", "np.imag",
                           "np.abs", "np.angle", "cmath.phase", "complex(re, im)", "complex division"]),
    (reductions, (X.copy(),), ["np.sum", "np.mean", "x.sum()", "x.mean()"]),
    (products, (np.arange(9.0).reshape(3, 3) / 9.0, X.copy()), ["np.dot", "@", "x.dot(y)"]),
    (fourier, (X.copy(),), ["np.fft.fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "fftn", "ifftn", "fftshift",
                            "ifftshift", "adc.dct", "types 2 and 3", "`n` may be computed"]),
    (maximum_minimum_broadcast, (BOX.copy(), np.array([0.3, 0.6])), ["maximum", "minimum", "broadcasting"]),
    (helper_with_keywords, (0.45,), ["keyword arguments and defaults"]),
    (statements, (LOOP.copy(),), ["while", "break", "continue", "`//` and `%`", "chained", "a if c else b"]),
]


@pytest.mark.parametrize("fn, args, spellings", SPELLINGS, ids=[fn.__name__ for fn, _, _ in SPELLINGS])
def test_spellings_on_the_page_are_accepted(fn, args, spellings):
    for spelling in spellings:
        assert spelling in PAGE, f"docs/subset.md no longer names {spelling!r}: update this table"
    check_accepted(fn, args, wrt=tuple(range(len(args))), grad=fn is not float32_values)  # float32 differences are too coarse


# -- refusals: the table on the page, one or more programs for each row ---------------------------
# `when`: refused by adc.differentiate ("decorate"), at the first call ("call"), the first grad ("grad") or
# the first jacobian(mode="fwd") ("jacobian-fwd")

def uses_try(x):
    try:
        y = x
    except ValueError:
        y = 0.0
    return y


def uses_with(x):
    with open("f") as f:
        x = x + len(f.name)
    return x


def uses_raise(x):
    if x < 0:
        raise ValueError("negative")
    return x


def uses_assert(x):
    assert x > 0
    return x


def uses_yield(x):
    yield x
    return x


def uses_generator_expression(x):
    return sum(v for v in x)


def uses_list_comprehension(x):
    return np.sum([v for v in x])


def uses_set_comprehension(x):
    s = {v for v in x}  # noqa: F841
    return x


def uses_dict_comprehension(x):
    d = {v: v for v in x}  # noqa: F841
    return x


def uses_lambda(x):
    f = lambda u: u  # noqa: E731
    return f(x)


def uses_nested_def(x):
    def inner(u):
        return u
    return inner(x)


def uses_class(x):
    class Box:
        pass
    return x


def uses_global(x):
    global COUNTER
    return x


def uses_list(x):
    v = [x, x]  # noqa: F841
    return x


def uses_dict(x):
    d = {"a": x}  # noqa: F841
    return x


def uses_set(x):
    s = {x, 2.0}  # noqa: F841
    return x


def uses_del(x):
    y = x
    del y
    return x


def uses_import(x):
    import math as m
    return m.sin(x)


def uses_fstring(x):
    s = f"{x}"  # noqa: F841
    return x


def uses_walrus(x):
    y = (z := x) + 1.0  # noqa: F841
    return y


def uses_match(x):
    match x:
        case 1.0:
            y = x
        case _:
            y = 2.0 * x
    return y


def uses_annotation(x):
    y: float = x
    return y


def uses_star_args(*xs):
    return xs


def uses_keyword_only(x, *, y):
    return x + y


def uses_is(x):
    return x if x is None else 2.0 * x


def uses_in(x):
    return x if x in (1.0, 2.0) else 2.0 * x


def uses_bitwise(x, y):
    return x & y


def uses_invert(x):
    return ~x


def early_return(x):
    if x > 0:
        return x
    return -x


def no_return(x):
    x = x + 1.0


def loop_else(x):
    for i in range(3):  # noqa: B007
        x = x + 1.0
    else:
        x = 0.0
    return x


def for_over_array(x):
    s = 0.0
    for v in x:
        s += v
    return s


def for_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):  # noqa: B007
        s += v
    return s


def reserved_name(x):
    y__bar = x
    return y__bar


def assigned_in_loop(x):
    for i in range(x.shape[0]):
        last = x[i]
    return last


def unknown_name(x):
    return x * undefined_scale  # noqa: F821


def unknown_numpy_max(x):
    return np.max(x)


def unknown_numpy_prod(x):
    return np.prod(x)


def unknown_numpy_concatenate(x):
    return np.sum(np.concatenate((x, x)))


def unknown_method(x):
    return np.sum(x.cumsum())


def sum_axis(x):
    return np.sum(np.sum(x, axis=0))


def mean_axis(x):
    return np.sum(np.mean(x, axis=1))


def sum_keepdims(x):
    return np.sum(np.sum(x, keepdims=True))


def fft2_with_s(x):
    return np.sum(np.abs(np.fft.fft2(x, s=(4, 4))))


def recursive_helper(x):
    return recursive(x)


def recursive(x):
    return recursive(x)


GLOBAL_ARRAY = np.ones(3, dtype=np.int32)


def reads_global_array(x):
    return x * GLOBAL_ARRAY[0]


def higher_rank_into_slice(x):
    y = np.zeros(4)
    y[1:] = np.zeros((3, 3))
    return np.sum(y * x)


def array_into_element(x):
    y = np.zeros(4)
    y[0] = x[1:]
    return np.sum(y)


def complex_into_real(x):
    y = np.zeros(2)
    y[0] = 1j * x
    return np.sum(y)


def compares_arrays(x):
    s = 0.0
    if x > 0.0:
        s = 1.0
    return s


def orders_complex(z):
    s = 0.0
    if z > 1.0:
        s = 1.0
    return s


def matmul_3d(x):
    return np.sum(x @ x)


def rfft_of_complex(z):
    return np.sum(np.abs(np.fft.rfft(z)))


def broadcast_against_3d(x, v):
    return np.sum(x * v)


def view_before_a_loop_that_rebinds_its_base(x):
    b0 = np.copy(x)
    v0 = b0[1:]
    for i in range(2):  # noqa: B007
        b0[1] = 0.5 * b0[1] + 0.5
        b0 = 0.5 * b0 + x
    return np.sum(v0 * v0)


def rfft_along_the_first_axis(m):
    return np.sum(np.abs(np.fft.rfft(m, axis=0)))


def fft_with_n_along_the_first_axis(m):
    return np.sum(np.abs(np.fft.fft(m, n=4, axis=0)))


def rebinds_an_array(a, x):
    y = np.zeros(x.shape[1])
    for n in range(x.shape[0]):
        y = a * y + x[n, :]
    return y


A4, M33, T223 = np.ones(4), np.ones((3, 3)), np.ones((2, 2, 3))
REFUSALS = {  # the page's first column -> [(program, arguments, when)]
    "`try`": [(uses_try, (), "decorate")],
    "`with`": [(uses_with, (), "decorate")],
    "`raise`": [(uses_raise, (), "decorate")],
    "`assert`": [(uses_assert, (), "decorate")],
    "`yield`, generators": [(uses_yield, (), "decorate")],
    "generator expressions": [(uses_generator_expression, (), "decorate")],
    "list, set and dict comprehensions": [(uses_list_comprehension, (), "decorate"),
                                          (uses_set_comprehension, (), "decorate"),
                                          (uses_dict_comprehension, (), "decorate")],
    "`lambda`": [(uses_lambda, (), "decorate")],
    "nested `def`": [(uses_nested_def, (), "decorate")],
    "`class`": [(uses_class, (), "decorate")],
    "`global`": [(uses_global, (), "decorate")],
    "lists": [(uses_list, (), "decorate")],
    "dicts": [(uses_dict, (), "decorate")],
    "sets": [(uses_set, (), "decorate")],
    "`del`, `import` inside the function, f-strings, `:=`, `match`, annotated assignments": [
        (uses_del, (), "decorate"), (uses_import, (), "decorate"), (uses_fstring, (), "decorate"),
        (uses_walrus, (), "decorate"), (uses_match, (), "decorate"), (uses_annotation, (), "decorate")],
    "`*args`, `**kwargs`, keyword-only parameters": [(uses_star_args, (), "decorate"),
                                                      (uses_keyword_only, (), "decorate")],
    "`is`, `in`": [(uses_is, (), "decorate"), (uses_in, (), "decorate")],
    "`&`, `|`, `^`, `<<`, `>>`": [(uses_bitwise, (), "decorate")],
    "`~`": [(uses_invert, (), "decorate")],
    "early `return`": [(early_return, (), "decorate")],
    "no `return` at the end": [(no_return, (), "decorate")],
    "`else` on a loop": [(loop_else, (), "decorate")],
    "`for x in array`, `for i, v in enumerate(...)`": [(for_over_array, (A4,), "call"),
                                                        (for_enumerate, (A4,), "call")],
    "names containing `__`": [(reserved_name, (), "decorate")],
    "a variable first assigned inside a loop or branch and used after it": [(assigned_in_loop, (A4,), "call")],
    "an unknown name": [(unknown_name, (1.0,), "call")],
    "an unknown function or numpy call (`np.max`, `np.prod`, `np.concatenate`, ...)": [
        (unknown_numpy_max, (A4,), "call"), (unknown_numpy_prod, (A4,), "call"),
        (unknown_numpy_concatenate, (A4,), "call")],
    "an unknown method (`x.sort()`, ...)": [(unknown_method, (A4,), "call")],
    "`np.sum(x, axis=0)`, `np.mean(x, axis=1)`, `keepdims=` and other keyword arguments adc does not know": [
        (sum_axis, (M33,), "call"), (mean_axis, (M33,), "call"), (sum_keepdims, (A4,), "call")],
    "`np.fft.fft2(x, s=...)`": [(fft2_with_s, (M33,), "call")],
    "a recursive helper": [(recursive_helper, (1.0,), "call")],
    "a module-level array of another dtype (int32) or 0-d": [(reads_global_array, (1.0,), "call")],
    "storing a higher-rank array into a slice (`y[1:] = m` for 2-d `m`)": [(higher_rank_into_slice, (A4,), "call")],
    "an array stored into one element": [(array_into_element, (A4,), "call")],
    "a complex value stored into a real array": [(complex_into_real, (1.0,), "call")],
    "comparing whole arrays (`if x > 0:` for an array `x`)": [(compares_arrays, (A4,), "call")],
    "ordering complex numbers": [(orders_complex, (1j,), "call")],
    "`@` or `np.dot` on 3-d arrays": [(matmul_3d, (T223,), "call")],
    "`np.fft.rfft` of a complex array": [(rfft_of_complex, (np.ones(4, complex),), "call")],
    "reverse mode: broadcasting a 1-d or 2-d array against a 3-d one": [
        (broadcast_against_3d, (T223, np.arange(3.0)), "grad"), (broadcast_against_3d, (T223, np.ones((2, 3))), "grad")],
    "reverse mode: an array carried by a loop and written into, while a view taken before the loop or an array "
    "from outside the loop shares its memory": [(view_before_a_loop_that_rebinds_its_base, (np.array([0.1, -0.2]),), "grad")],
    "reverse mode: `np.fft.rfft` or `irfft` along an axis other than the last": [(rfft_along_the_first_axis, (M33,), "grad")],
    "reverse mode: an explicit `n` along an axis other than the last, or of a 3-d array": [
        (fft_with_n_along_the_first_axis, (M33,), "grad")],
    '`jacobian(mode="fwd")`: an active array rebound inside a loop or branch': [
        (rebinds_an_array, (0.5, np.ones((3, 2))), "jacobian-fwd")],
}
REFUSAL_ROWS = {cells[0]: cells[1] for cells in table_rows(section("Refused, with the message you get"))}


def test_every_refusal_on_the_page_has_a_program_here():
    assert set(REFUSAL_ROWS) == set(REFUSALS)


def refusal(fn, args, when) -> adc.CompileError:
    if when == "decorate":
        with pytest.raises(adc.CompileError) as info:
            adc.differentiate(fn, backend="python")
        return info.value
    f = adc.differentiate(fn, wrt=tuple(range(len(args))), backend="python")
    if when != "call":
        f(*args)  # the primal runs; only the derivative refuses
    call = {"call": f, "grad": f.grad, "jacobian-fwd": lambda *a: f.jacobian(*a, mode="fwd")}[when]
    with pytest.raises(adc.CompileError) as info:
        call(*args)
    return info.value


@pytest.mark.parametrize("row, fn, args, when",
                         [(row, fn, args, when) for row, cases in REFUSALS.items() for fn, args, when in cases],
                         ids=lambda p: p.__name__ if callable(p) else "")
def test_refused_with_the_message_on_the_page(row, fn, args, when):
    err = refusal(fn, args, when)
    assert plain(REFUSAL_ROWS[row]) in plain(err.message), (row, err.message)
    assert err.filename == __file__ and err.lineno > 0
    assert str(err).startswith(f"{err.filename}:{err.lineno}:{err.col_offset}: ")


# -- arguments adc does not use are refused, never ignored; dtype= is honoured ------------------

def sum_positional_axis(x):
    return np.sum(x, 0)


def mean_positional_axis(x):
    return np.mean(x, 1)


def sum_method_axis(x):
    return x.sum(axis=0)


def mean_method_axis(x):
    return x.mean(axis=1)


def dot_with_out(x):
    return np.dot(x, x, x)


def full_like_dtype(x):
    return np.sum(np.full_like(x, 2.5, dtype=np.int64) * x)


def full_like_float32(x):
    return np.full_like(x, 2.5, dtype=np.float32) * x[0]


def arange_dtype(x):
    return np.arange(0, x.shape[0], 1, dtype=np.float32) * x[0]


@pytest.mark.parametrize("fn", [sum_positional_axis, mean_positional_axis, sum_method_axis, mean_method_axis,
                                dot_with_out], ids=lambda fn: fn.__name__)
def test_unused_arguments_are_refused(fn):
    x = np.arange(6.0).reshape(3, 2) if "axis" in fn.__name__ else np.ones(3)
    with pytest.raises(adc.CompileError, match="not supported") as info:
        adc.differentiate(fn, backend="python")(x)
    assert info.value.filename == __file__


@pytest.mark.parametrize("fn", [full_like_dtype, full_like_float32, arange_dtype], ids=lambda fn: fn.__name__)
def test_dtype_is_honoured(backend, fn):
    x = np.array([1.5, -2.0, 0.25])
    f = adc.differentiate(fn, backend=backend)
    got, expected = f(x.copy()), fn(x.copy())
    assert np.asarray(got).dtype == np.asarray(expected).dtype and np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    if np.ndim(expected) == 0:
        grad = f.grad(x.copy())
        fd = [(fn(x + e) - fn(x - e)) / 2e-6 for e in np.eye(3) * 1e-6]
        np.testing.assert_allclose(grad, fd, rtol=1e-6)


# -- refused when called, without a line -------------------------------------------------------

def doubles(x):
    return 2.0 * x


def scales(x, n):
    return x * n


def product(m, x):
    return np.sum(m @ x)


def adds(x, y):
    return np.sum(x + y)


def writes_first(v, u):
    for i in range(v.shape[0]):
        v[i] = v[i] * u[i]
    return np.sum(v)


def call_time_cases():
    f = adc.differentiate(doubles, backend="python")
    yield "an argument adc does not take", TypeError, lambda: f([1.0, 2.0])
    yield "an argument adc does not take", TypeError, lambda: f(np.ones(3, dtype=np.int32))
    yield "an argument adc does not take", TypeError, lambda: f(np.array(1.0))
    yield "an argument adc does not take", TypeError, lambda: f(1.0, 2.0)
    g = adc.differentiate(scales, wrt="n", backend="python")
    yield "`wrt` naming an integer", TypeError, lambda: g.grad(1.0, 3)
    yield "`grad` or `hvp` of a result that is not a real scalar", TypeError, lambda: f.grad(np.ones(3))
    p = adc.differentiate(product, backend="python")
    yield "shapes numpy would refuse", ValueError, lambda: p(np.ones((3, 4)), np.ones(5))
    a = adc.differentiate(adds, backend="python")
    yield "shapes numpy would refuse", ValueError, lambda: a(np.ones(3), np.ones(4))
    yield "shapes numpy would refuse", ValueError, lambda: f.vjp(np.ones(3), cotangent=np.ones(2))
    w = adc.differentiate(writes_first, backend="python")
    z = np.ones(4)
    yield "derivatives of arguments that share memory", ValueError, lambda: w.grad(z, z)


def test_call_time_refusals_are_the_errors_the_page_names():
    rows = table_rows(section("Refused when called, without a line"))
    seen = set()
    for start, error, call in call_time_cases():
        (cells,) = [c for c in rows if c[0].startswith(start)]
        assert f"`{error.__name__}`" in cells[1]
        with pytest.raises(error):
            call()
        seen.add(cells[0])
    assert seen == {c[0] for c in rows}, "a row of the page has no case here"


# -- docs/design.md, "How to add a primitive": each example is one declaration in one module ---------
def test_adding_a_primitive_touches_one_module(tmp_path):
    """The page's two declarations, appended to a copy of adc (elementwise.py, reductions.py), give np.cbrt
    and np.prod (and x.prod()) gradients that match central differences and forward mode."""
    import os
    import shutil
    import subprocess
    import sys

    page = (Path(__file__).resolve().parents[1] / "docs" / "design.md").read_text()
    section = page.split("### How to add a primitive", 1)[1]
    cbrt, prod = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    copy = tmp_path / "adc"
    shutil.copytree(Path(adc.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "primitives" / "elementwise.py", "a") as f:
        f.write("\n" + cbrt)
    with open(copy / "primitives" / "reductions.py", "a") as f:
        f.write("\n" + prod)
    script = tmp_path / "use.py"
    script.write_text(
        "import numpy as np, adc\n"
        f"assert adc.__file__.startswith({str(copy)!r}), adc.__file__\n"
        "def f(x, s):\n"
        "    return np.prod(x * s) + np.sum(np.cbrt(x + 2.0)) + np.cbrt(s + 1.0) + x.prod()\n"
        "x = np.linspace(0.5, 1.5, 5)\n"
        "g = adc.differentiate(f, wrt=('x', 's'), backend='python')\n"
        "gx, gs = g.grad(x, 0.7)\n"
        "h = 1e-6\n"
        "fd_s = (f(x, 0.7 + h) - f(x, 0.7 - h)) / (2 * h)\n"
        "fd_x = np.array([(f(x + h * e, 0.7) - f(x - h * e, 0.7)) / (2 * h) for e in np.eye(5)])\n"
        "assert abs(gs - fd_s) <= 1e-7 * abs(fd_s), (gs, fd_s)\n"
        "assert np.max(np.abs(gx - fd_x)) <= 1e-7 * np.max(np.abs(fd_x)), (gx, fd_x)\n"
        "jv = g.jvp(x, 0.7, tangents=(np.ones(5), 1.0))[1]\n"
        "assert abs(jv - (np.sum(gx) + gs)) <= 1e-12 * abs(jv), jv\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(tmp_path), "ADC_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
