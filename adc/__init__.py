"""adc: source-to-source automatic differentiation for signal-processing Python.

    @adc.differentiate(wrt=("b", "a"))
    def iir_loss(b, a, x, target): ...

    iir_loss(b, a, x, t)              # compiled primal
    iir_loss.grad(b, a, x, t)         # (dL/db, dL/da)
    print(iir_loss.adjoint_source())  # the generated reverse-mode code
"""
from .backend import compile as _compile  # noqa: F401, I001  first: it imports the runtime where numba can cache it
from .api import Differentiated, differentiate
from .backend.allocator import keep_large_blocks_on_the_heap
from .checkpointing import checkpoint
from .custom import CustomJVP, CustomVJP, check_rule, custom_jvp, custom_vjp
from .errors import (
                     CompileError,
                     SourceNotFoundError,
                     TypeCheckError,
                     UnknownNameError,
                     UnsupportedCallError,
                     UnsupportedSyntaxError,
)
from .frontend.source import check_gast_version
from .runtime import dct

check_gast_version()
keep_large_blocks_on_the_heap()

from . import dsp  # noqa: E402  `import adc` then `adc.dsp.stft(...)`, as `np.fft` after `import numpy`

__all__ = ["differentiate", "Differentiated", "dsp", "checkpoint", "custom_vjp", "CustomVJP", "custom_jvp", "CustomJVP", "check_rule", "dct", "CompileError", "UnsupportedSyntaxError", "UnsupportedCallError",
           "UnknownNameError", "TypeCheckError", "SourceNotFoundError"]
__version__ = "0.1.0"
