"""Where compile time goes, per stage: `f.compile_stats()`, and with ADC_TIMING=1 one line on stderr
per stage as it finishes (docs/backends.md, "Compile time")."""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager


class StageTimes(dict):
    """stage name -> seconds, in the order the stages ran; `label` names the function and signature."""

    def __init__(self, label: str):
        super().__init__()
        self.label = label

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, time.perf_counter() - start)

    def record(self, name: str, seconds: float) -> None:
        self[name] = self.get(name, 0.0) + seconds
        if os.environ.get("ADC_TIMING"):
            print(f"adc timing: {self.label}: {name} {seconds * 1e3:.1f} ms", file=sys.stderr)
