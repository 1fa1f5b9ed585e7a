"""Regenerate the listings in docs/stages.md (tests fail when they go stale): python docs/make_stages.py"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import filters  # noqa: E402

PAGE = Path(__file__).parent / "stages.md"


def listings() -> dict[str, str]:
    x = np.linspace(0, 1, 8)
    filters.iir_loss.grad(0.5, 0.3, x, x)
    return {"ir": filters.iir_loss.ir(), "primal": filters.iir_loss.primal_source(),
            "adjoint": filters.iir_loss.adjoint_source(), "tangent": filters.iir_loss.tangent_source()}


TEMPLATE = '''# One filter through every stage

The first-order IIR loss of `docs/filters.py`, as each stage of adc prints it. The tests
regenerate these listings and compare (`python docs/make_stages.py` rewrites them), so this
page shows what adc does today.

<!-- listing -->
```python
@adc.differentiate(wrt=("b", "a"))
def iir_loss(b, a, x, target):
    y_prev = 0.0
    loss = 0.0
    for n in range(x.shape[0]):
        y = b * x[n] - a * y_prev
        loss += (y - target[n]) ** 2
        y_prev = y
    return loss
```

## `iir_loss.ir()`: structured SSA

The loop's carried values (`loss`, `y_prev`) are the recurrence's state; every op cites its
line. Activity: `b` and `a` are varied; `x`, `target` and `n` are not, and get no derivatives.
Bounds checks (adc/ir/bounds.py) are ops too: `x[n]` for `n in range(len(x))` needs none, and
`target[n]` is checked once, before the loop, at the largest index the loop reaches
(`boundscheck`); every kernel below inherits the check.

```
{ir}
```

## `iir_loss.primal_source()`: what `iir_loss(...)` runs

<!-- listing -->
```python
{primal}
```

## `iir_loss.adjoint_source()`: what `iir_loss.grad(...)` runs

To-be-recorded analysis keeps one value per step, `y_prev` (read by `a`'s adjoint); `y` is
recomputed from it in the reverse sweep, and `loss`'s adjoint passes through the loop
unchanged.

<!-- listing -->
```python
{adjoint}
```

## `iir_loss.tangent_source()`: what `iir_loss.jvp(...)` runs

Forward mode: each statement followed by its tangent, carried tangents beside carried values.

<!-- listing -->
```python
{tangent}
```
'''

if __name__ == "__main__":
    PAGE.write_text(TEMPLATE.format(**listings()))
