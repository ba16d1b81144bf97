"""Match a parameter value against a template's ``AllowedPattern``, bounded in time.

CloudFormation evaluates ``AllowedPattern`` with Java's regular expressions, on the whole value
(``^[a-z]+$`` and ``[a-z]+`` mean the same there). Widely copied patterns nest quantifiers
(``^\\w+([.-]?\\w+)*@...``): against a near-miss value a backtracking engine runs for hours, and
so would ``changegate validate`` and every sync. So every match here goes through the ``regex``
module with a ``timeout``; a match that runs out of time is "could not be checked", never a hang
and never a refusal (CloudFormation has the last word at deploy time).

Java and Python dialects, and what this module does about the differences:

- ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII-only in Java unless the pattern asks otherwise:
  matched here with ``regex.ASCII``, so ``\\w+`` refuses ``café`` as CloudFormation does.
- Constructs only one dialect has (``\\p{javaLowerCase}``, ``\\p{Lower}``, class intersection
  ``[a-z&&[^q]]``, nested classes) either fail to compile in Python or compile with another
  meaning (Python warns about the latter with a ``FutureWarning``). Such a pattern is not
  checked here: guessing wrongly would refuse a good value.
- Possessive quantifiers and atomic groups exist in both and mean the same.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

import regex

# A real pattern matches a value of at most 4,096 bytes in microseconds; half a second is
# generous, and a repository full of runaway patterns still validates in seconds per pattern.
MATCH_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class PatternResult:
    """``matched`` is True or False, or None when the pattern could not be checked.

    ``timed_out`` says why it could not: True when the match ran out of time, False when the
    pattern uses Java-only syntax.
    """

    matched: bool | None
    timed_out: bool = False


@lru_cache(maxsize=1024)
def compile_allowed_pattern(pattern: str) -> regex.Pattern | None:
    """``pattern`` compiled with Java's meaning, or None when only Java can tell what it means."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        try:
            re.compile(pattern)  # the gate: Python's own parser flags the Java-only constructs
        except (re.error, RecursionError, OverflowError, FutureWarning):
            return None
    try:
        return regex.compile(pattern, flags=regex.ASCII | regex.VERSION0)
    except (regex.error, RecursionError, OverflowError):
        return None


@lru_cache(maxsize=4096)  # a stack with a problem is checked twice (fast, then with lines): pay once
def match_allowed_pattern(pattern: str, value: str,
                          timeout: float = MATCH_TIMEOUT_SECONDS) -> PatternResult:
    """Does ``value`` match ``pattern`` as a whole? Never takes much longer than ``timeout``."""
    compiled = compile_allowed_pattern(pattern)
    if compiled is None:
        return PatternResult(None)
    try:
        return PatternResult(compiled.fullmatch(value, timeout=timeout) is not None)
    except TimeoutError:
        return PatternResult(None, timed_out=True)
