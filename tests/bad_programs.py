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
    y = np.convolve(x, x)  # <- error
    return np.sum(np.abs(y))


def unknown_function(x):
    return undefined_helper(x)  # <- error


def early_return(x):
    if x > 0:
        return x  # <- error
    return -x


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
