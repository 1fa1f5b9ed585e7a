"""Hypothesis drivers around the oracle.

- `check_program`: one generated program, for `@given` tests (tests/test_fuzz.py). A failure raises
  (hypothesis shrinks it and prints the program); an unjudgeable case is rejected; a refusal is
  tallied and warned about, never failed.
- `run_chunk`: one piece of a long campaign (../fuzz.py). Pass 1 generates `examples` programs
  with a seed and no shrinking, tallying every outcome; it stops at the first failure or refusal
  that is *new* (not like one already shrunk: see `Known`). Pass 2 replays that example from the
  in-memory database and shrinks it, raising only for the same failure (so the shrinker cannot
  slip to another bug), and returns the shrunk program.
"""
from __future__ import annotations

import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, Phase, given, reject, seed, settings
from hypothesis.control import current_build_context
from hypothesis.database import InMemoryExampleDatabase

from .gen import PROFILES, Profile, programs
from .known import known_bug
from .oracle import Case, FuzzFailure, Invalid, case_literal, check_case, forget_modules, refused

ALL_HEALTH_CHECKS = list(HealthCheck)


class FuzzRefusalWarning(UserWarning):
    """adc refused a generated program (a program of its subset: worth a look)."""


@dataclass
class Tally:
    """What one process saw (generation only: the shrinker's replays are not counted)."""
    programs: int = 0  # judged: passed, refused or failed
    passed: int = 0
    refused: int = 0
    failed: int = 0
    invalid: int = 0
    seconds: float = 0.0
    checks: Counter = field(default_factory=Counter)  # check -> programs it ran to the end on
    tags: Counter = field(default_factory=Counter)  # construct -> judged programs with it
    refusals: Counter = field(default_factory=Counter)  # "stage: message" -> count
    failures: Counter = field(default_factory=Counter)  # failure key -> count
    invalid_reasons: Counter = field(default_factory=Counter)
    inconclusive: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)  # key -> smallest unshrunk example (dict)

    def merge(self, other: "Tally") -> None:
        for name in ("programs", "passed", "refused", "failed", "invalid", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("checks", "tags", "refusals", "failures", "invalid_reasons", "inconclusive"):
            getattr(self, name).update(getattr(other, name))
        for key, ex in other.examples.items():
            if key not in self.examples or len(ex["source"]) < len(self.examples[key]["source"]):
                self.examples[key] = ex

    def keep_example(self, key: str, failure: FuzzFailure | None, case: Case, detail: str) -> None:
        if key not in self.examples or len(case.source) < len(self.examples[key]["source"]):
            self.examples[key] = example_record(key, failure, case, detail)


def example_record(key: str, failure: FuzzFailure | None, case: Case, detail: str) -> dict:
    return {"key": key, "summary": failure.summary if failure else "adc refused a program of its subset",
            "detail": detail, "source": case.source, "case": case_literal(case, "    "),
            "tags": sorted(case.tags), "args": case.args, "wrt": case.wrt}


def refusal_key(stage: str, message: str) -> str:
    return f"refused:{stage}:{message}"


def _is_replay() -> bool:
    try:
        return current_build_context().is_final
    except Exception:  # outside hypothesis
        return False


def judge(program, backend: str, tally: Tally | None):
    """(case, outcome, failure, reason): the oracle's verdict on one program, tallied."""
    case = Case.from_program(program)
    start = time.perf_counter()
    outcome = failure = None
    reason = ""
    try:
        outcome = check_case(case, backend)
    except Invalid as e:
        reason = str(e)
    except FuzzFailure as f:
        failure = f
    if tally is not None and not _is_replay():
        tally.seconds += time.perf_counter() - start
        if outcome is None and failure is None:
            tally.invalid += 1
            tally.invalid_reasons[re.sub(r" ?\(.*", "", reason.split(":")[0])[:70]] += 1
        else:
            tally.programs += 1
            tally.tags.update(case.tags)
            if failure is not None:
                tally.failed += 1
                for f in [failure] + failure.also:
                    tally.failures[f.key] += 1
                    tally.keep_example(f.key, f, case, f.detail)
            else:
                tally.checks.update(outcome.checks)
                tally.inconclusive.update(re.sub(r" ?\(.*", "", r.split(":")[0])[:70] for r in outcome.inconclusive)
                if outcome.refusals:
                    tally.refused += 1
                else:
                    tally.passed += 1
            for stage, message, full in (outcome.refusals if outcome else []):
                tally.refusals[f"{stage}: {message}"] += 1
                tally.keep_example(refusal_key(stage, message), None, case, full)
    return case, outcome, failure, reason


# -- CI: one program per hypothesis example ------------------------------------------------------

TALLY = Tally()
_WARNED: set = set()


def check_program(program, backend: str = "python", tally: Tally | None = None, tolerate_known: bool = True) -> None:
    """Judge one program: raise its first failure that is not a known open bug (tests/fuzz/known.py)."""
    tally = TALLY if tally is None else tally
    case, outcome, failure, reason = judge(program, backend, tally)
    if failure is not None:
        unknown = [f for f in [failure] + failure.also if not (tolerate_known and known_bug(f))]
        if unknown:
            first = unknown[0]
            first.also = unknown[1:]
            raise first
        return
    if outcome is None:
        reject()
    for stage, message, full in outcome.refusals:
        if (stage, message) not in _WARNED:
            _WARNED.add((stage, message))
            warnings.warn(FuzzRefusalWarning(f"adc refused a generated program in {stage}: {full}\n{case.source}"),
                          stacklevel=2)


# -- the campaign: one chunk -------------------------------------------------------------------

@dataclass
class Known:
    """Failures already shrunk: key -> the construct tags of each shrunk program.

    A later failure with the same key is shrunk again only if its program lacks some construct of
    every shrunk one (it may be another bug), and at most `per_key` times."""
    shrunk: dict = field(default_factory=dict)
    per_key: int = 4

    def is_new(self, key: str, tags) -> bool:
        seen = self.shrunk.get(key, [])
        if key.startswith("refused:"):
            return not seen and self.per_key > 0
        if len(seen) >= self.per_key:
            return False
        return not any(set(t) <= set(tags) for t in seen)

    def add(self, key: str, tags) -> None:
        self.shrunk.setdefault(key, []).append(sorted(tags))


def chunk_profile(name: str, numba_rate: float) -> Profile:
    profile = PROFILES[name]
    if numba_rate > 0:
        against = max(int(round(1 / numba_rate)) - 1, 0)
        profile = replace(profile, numba=(1, against))
    return profile


def _failures_of(exc) -> list:
    """The FuzzFailures inside what hypothesis raised (an exception group for several)."""
    if isinstance(exc, FuzzFailure):
        return [exc]
    out = []
    for e in getattr(exc, "exceptions", ()):
        out += _failures_of(e)
    return out


def _demote(db: InMemoryExampleDatabase) -> None:
    """Move saved failures to the secondary corpus: hypothesis takes failures in the primary one for
    already shrunk and would replay them as they are."""
    for key in list(db.data):
        for value in list(db.fetch(key)):
            db.move(key, key + b".secondary", value)


def run_chunk(chunk_seed: int, examples: int, profile: str, backend: str = "python", known: Known | None = None,
              numba_rate: float = 0.0, shrink: bool = True) -> dict:
    """Generate up to `examples` programs; shrink the first new failure or refusal. Returns a dict:
    tally, shrunk (list of example records), stopped_early, seconds.

    adc's generated modules go to $ADC_CACHE_DIR; leave that folder in place for the life of the
    process (adc keeps modules it imported from there and reads their source again for hvp)."""
    known = known or Known()
    tally = Tally()
    db = InMemoryExampleDatabase()
    state = {"target": None, "found": None}
    started = time.perf_counter()

    def body(program):
        target = state["target"]
        case, outcome, failure, reason = judge(program, backend, tally if target is None else None)
        raise_this = None
        failures = [failure] + failure.also if failure is not None else []
        refusals = outcome.refusals if outcome is not None else []
        if target is None:  # pass 1: stop at something new
            for f in failures:
                if known.is_new(f.key, case.tags):
                    raise_this = f
                    break
            else:
                for stage, message, full in refusals:
                    key = refusal_key(stage, message)
                    if known.is_new(key, case.tags):
                        raise_this = refused(stage, message)(f"refused in {stage}: {full}", case, backend)
                        break
            if raise_this is not None:
                state["found"] = raise_this.key
        else:  # pass 2: only the same failure counts
            raise_this = next((f for f in failures if f.key == target), None)
            if raise_this is None and target.startswith("refused:"):
                for stage, message, full in refusals:
                    if refusal_key(stage, message) == target:
                        raise_this = refused(stage, message)(f"refused in {stage}: {full}", case, backend)
        if raise_this is not None:
            raise raise_this  # outside any except block: no exception context to confuse the shrinker
        if outcome is None:
            reject()

    strategy = programs(chunk_profile(profile, numba_rate))
    common = dict(deadline=None, database=db, suppress_health_check=ALL_HEALTH_CHECKS, derandomize=False,
                  print_blob=False, report_multiple_bugs=False)

    def run(**kw):  # a fresh test per pass (settings apply once); the same body, so the same database key
        settings(**common, **kw)(seed(chunk_seed)(given(strategy)(body)))()

    shrunk = []
    try:
        try:
            run(max_examples=examples, phases=[Phase.generate])
        except BaseException as exc:  # noqa: B036 - hypothesis may raise groups or Flaky
            if isinstance(exc, KeyboardInterrupt):
                raise
            unshrunk = _failures_of(exc)
        else:
            unshrunk = []
        if state["found"] is not None:
            key = state["found"]
            record = None
            if shrink:
                _demote(db)
                state["target"] = key
                t0 = time.perf_counter()
                try:
                    run(max_examples=examples, phases=[Phase.reuse, Phase.shrink])
                except BaseException as exc:  # noqa: B036
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    done = [f for f in _failures_of(exc) if f.key == key]
                    if done:
                        record = example_record(key, done[0], done[0].case, done[0].detail)
                        record["shrink_seconds"] = time.perf_counter() - t0
            if record is None and unshrunk:  # not reproduced, or not shrinking: keep it as found
                f = next((f for f in unshrunk if f.key == key), unshrunk[0])
                record = example_record(key, f, f.case, f.detail)
                record["unshrunk"] = True
            if record is not None:
                record["chunk_seed"] = chunk_seed
                record["profile"] = profile
                shrunk.append(record)
    finally:
        forget_modules()
    return {"tally": tally, "shrunk": shrunk, "stopped_early": state["found"] is not None,
            "seconds": time.perf_counter() - started, "chunk_seed": chunk_seed, "profile": profile}
