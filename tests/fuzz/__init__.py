"""adc's verification fuzzer.

- `gen`: hypothesis strategies that build small random programs of adc's subset (loops with
  recurrences, element overwrites, while loops, branches on data, break/continue, helpers,
  whole-array expressions, slices and views of arrays written later, arrays carried by loops,
  complex intermediates, FFTs) with their inputs, printed as Python; `programs(profile)` is the
  strategy ("mixed", "loops", "arrays", "complex", "numba", "views", "bounds": indices near and
  past the bounds, which the others draw now and then too).
- `oracle`: `check_case(Case(source, args, wrt, ...))` writes the program to a real file, imports
  it and checks adc against it: the compiled primal, grad against finite differences (only at
  points where no branch flips), the jvp/vjp dot-product test, hvp against differences of grad,
  numba against python; where the plain function raises IndexError, that every kernel raises
  adc's OutOfBounds naming the program's line. Raises a `FuzzFailure` subclass holding the
  program and a reproduction, or `Invalid` when the point cannot be judged; refusals
  (adc.CompileError) are counted.
- `runner`: `check_program` for `@given` tests (tests/test_fuzz.py) and `run_chunk`, one
  generate-then-shrink piece of a long campaign (../../fuzz.py).
- `known`: open bugs the CI tests tolerate, each pinned in tests/fuzz_regressions.py.

Import it as `fuzz` with tests/ on sys.path (pytest does this; fuzz.py at the repository root
inserts it), not as the root's fuzz.py.
"""
