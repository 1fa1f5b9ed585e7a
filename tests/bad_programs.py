"""Functions outside the subset; `# <- error` marks the line each error must point at."""
import numpy as np


def uses_try(x):
    try:  # <- error
        y = x * 2.0
    except ValueError:
        y = x
    return y


def uses_with(x):
    with open("f") as f:  # <- error
        y = x
    return y


def uses_yield(x):
    yield x  # <- error
    return x


def uses_lambda(x):
    f = lambda u: u * 2.0  # <- error
    return f(x)


def uses_class(x):
    class C:  # <- error
        pass
    return x


def uses_global(x):
    global COUNTER  # <- error
    return x


def uses_nested_def(x):
    def inner(u):  # <- error
        return u
    return inner(x)


def unsupported_numpy_call(x):
    y = np.polyval(x, 2.0)  # <- error
    return y * y


def unknown_numpy_function(x):
    return np.median(x) * 2.0  # <- error


def unknown_function(x):
    return undefined_helper(x)  # <- error


def early_return(x):
    s = 0.0
    for n in range(3):
        s += x
        if s > 2.0:
            return s  # <- error
    return s


def uses_list(x):
    y = [x, x]  # <- error
    return y[0]


def returns_array(x):
    return x * 2.0


def int_loop_counter(x, n):
    s = 0.0
    for i in range(n):
        s += x
    return s


def iterates_over_a_number(x):
    s = 0.0
    for v in x:  # <- error: called with a number
        s += v
    return s


def slice_assignment_of_higher_rank(x):
    y = np.zeros(4)
    y[1:] = np.zeros((3, 3))  # <- error
    return np.sum(y * x)


def is_comparison(x):
    if x is None:  # <- error
        x = 1.0
    return x


def in_comparison(x):
    if x in (1.0, 2.0):  # <- error
        x = 0.0
    return x


def shifts(n, x):
    return x * (n << 1)  # <- error


def bitwise_and(n, x):
    return x * (n & 1)  # <- error: on integers


def invert(x):
    return ~x  # <- error: of a float


def defined_only_in_loop(x):
    for n in range(x.shape[0]):
        last = x[n]
    return last  # <- error


def dict_literal(x):
    d = {"a": x}  # <- error
    return d["a"]


def list_comprehension(x):
    ys = [v * 2.0 for v in x]  # <- error
    return ys[0]


def uses_fstring(x):
    label = f"{x}"  # <- error
    return x


def uses_del(x):
    y = x * 2.0
    del y  # <- error
    return x


def imports_inside(x):
    import math  # <- error
    return math.sin(x)


def raises(x):
    if x < 0.0:
        raise ValueError("negative")  # <- error
    return x


def asserts_with_a_computed_message(x):
    assert x > 0.0, str(x)  # <- error
    return x


def uses_walrus(x):
    if (y := x * 2.0) > 1.0:  # <- error
        x = y
    return x


def star_args(*xs):  # <- error
    return xs[0]


def for_else(x):
    s = 0.0
    for n in range(3):  # <- error
        s += x
    else:
        s = 0.0
    return s


def array_condition(x):
    if x > 0.0:  # <- error: x is an array
        x = x * 2.0
    return np.sum(x)


def complex_into_real_array(x):
    y = np.zeros(3)
    y[0] = x * 1j  # <- error
    return np.sum(y)


def range_outside_for(x):
    r = range(3)  # <- error
    return x


def reserved_name(x):
    y__bar = x * 2.0  # <- error
    return y__bar


def no_return(x):
    y = x * 2.0  # <- error


def unknown_method(x):
    x.sort()  # <- error
    return np.sum(x)


def rfft_of_complex(z):
    return np.sum(np.abs(np.fft.rfft(z)))  # <- error


def ordering_complex(z):
    if z > 1.0:  # <- error
        z = z * 2.0
    return abs(z)


GLOBAL_ARRAY = np.ones(3, dtype=np.int32)  # module-level arrays are read, but not of this dtype


def reads_global_array(x):
    return x * GLOBAL_ARRAY[0]  # <- error


def helper_recursion(x):
    return recursive(x)  # <- error


def recursive(x):
    return recursive(x)


def broadcast_into_four_dims(x, v):
    return np.sum(x * v)  # <- error


def mismatched_product(m, x):
    return np.sum(m @ x)


def view_before_a_loop_that_rebinds_its_base(x):
    b0 = np.copy(x)
    v0 = b0[1:]
    for i in range(2):  # <- error
        b0[1] = 0.5 * b0[1] + 0.5
        b0 = 0.5 * b0 + x
    return np.sum(v0 * v0)


def writes_in_place(v, u):
    for i in range(v.shape[0]):
        v[i] = np.tanh(v[i] + u)
    return v


def loop_hands_on_an_outside_array(x, y):
    s0 = 0.0
    for i in range(1):  # <- error
        s0 = np.sum(x)
        x = writes_in_place(y, 0.5)
    x[0] = s0
    return np.sum(y * y)


def real_with_two_arguments(z):
    return np.sum(np.real(z, 1))  # <- error
