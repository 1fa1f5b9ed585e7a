"""Open adc bugs the fuzzer found, each with a matcher that recognises its failures.

tests/test_fuzz.py tolerates a failing program only when every failure of it matches one of these
(so CI stays green while they are open, and any other failure still fails). Each bug has shrunk
programs in tests/fuzz_regressions.py, marked xfail(strict=True): when a fix makes them pass,
pytest reports XPASS as a failure; then delete the bug here and the xfail mark there, and the CI
fuzz tests check that construct again. The long campaign (fuzz.py) tolerates nothing.

Matchers are deliberately narrow: a kind of failure plus the construct that triggers it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class KnownBug:
    name: str
    reason: str
    matches: Callable  # (failure: FuzzFailure) -> bool


# An open bug looks like this (the matcher sees the FuzzFailure: kind, detail, case.source):
#
#     KnownBug("negative-constant-power",
#              "`(-0.3) ** 2` is generated as `-0.3 ** 2`",
#              lambda f: f.kind in ("primal", "value", "grad-fd") and "(-0." in f.case.source),
#
# The bugs of the campaigns so far were fixed in commits a9ab850, 4943931 and c42db11; their
# programs stay in tests/fuzz_regressions.py as plain regression tests.
# The bounds campaign's (an unused read past the end dropped with its check, "bounds-missed-dead")
# was fixed in c546fa4: tests/test_bounds.py::test_an_unused_read_out_of_bounds_raises.
KNOWN_BUGS: list = []  # every bug the campaigns found is fixed (see tests/fuzz_regressions.py)


def known_bug(failure) -> KnownBug | None:
    return next((b for b in KNOWN_BUGS if b.matches(failure)), None)
