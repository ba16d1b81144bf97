"""Compare two resolved values, knowing which resources this change replaces.

The outcome of a comparison is SAME, CHANGED, CONDITIONAL or UNKNOWN. A ``Ref`` (or
``GetAtt``) to a resource compares CHANGED when that resource is replaced: "Recreating the
resource generates a new physical ID. CloudFormation creates the replacement resource first,
and then changes references from other dependent resources to point to the replacement
resource" (CloudFormation User Guide, UpdateReplacePolicy attribute). A value that depends on
something only known at deploy time compares UNKNOWN, never SAME, unless both sides are built
from the same inputs.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from typing import Any

from preview.resolve import Att, Ref, Sym, Unknown, freeze, is_literal


class Outcome(enum.IntEnum):
    SAME = 0
    CONDITIONAL = 1
    UNKNOWN = 2
    CHANGED = 3


MISSING = object()

# A dependency's replacement, as the comparison of a Ref to it sees it.
_BY_REPLACEMENT = {"True": Outcome.CHANGED, "Conditional": Outcome.CONDITIONAL,
                   "Unknown": Outcome.UNKNOWN, "False": Outcome.SAME}


class Comparer:
    """Compares old and new values of one stack.

    ``replacement(logical_id)`` gives the predicted replacement of a resource already
    decided ("True", "Conditional", "Unknown", "False"), or None when it is not modified.
    ``attribute_changed(logical_id, attribute)`` says whether a modified resource's
    attribute changes without replacement.
    """

    def __init__(self, replacement: Callable[[str], str | None],
                 attribute_changed: Callable[[str, str], Outcome]) -> None:
        self.replacement = replacement
        self.attribute_changed = attribute_changed

    def compare(self, old: Any, new: Any) -> Outcome:
        if old is MISSING or new is MISSING:
            return Outcome.SAME if old is new else Outcome.CHANGED
        if isinstance(old, Unknown) or isinstance(new, Unknown):
            return Outcome.UNKNOWN
        if isinstance(old, dict) and isinstance(new, dict):
            return max((self.compare(old.get(k, MISSING), new.get(k, MISSING))
                        for k in old.keys() | new.keys()), default=Outcome.SAME)
        if isinstance(old, list | tuple) and isinstance(new, list | tuple):
            if len(old) != len(new):
                return Outcome.CHANGED
            return max((self.compare(a, b) for a, b in zip(old, new, strict=True)), default=Outcome.SAME)
        if isinstance(old, str) and isinstance(new, str):
            return Outcome.SAME if old == new else Outcome.CHANGED
        if isinstance(old, Ref) and isinstance(new, Ref):
            if old.logical_id != new.logical_id:
                return Outcome.CHANGED
            return self._dependency(old.logical_id)
        if isinstance(old, Att) and isinstance(new, Att):
            if old != new:
                return Outcome.CHANGED
            return max(self._dependency(old.logical_id),
                       self.attribute_changed(old.logical_id, old.attribute))
        if isinstance(old, Sym) and isinstance(new, Sym):
            return self._symbols(old, new)
        if is_literal(old) and is_literal(new):
            return Outcome.CHANGED  # a string against a list, say
        # a literal against a deploy-time value (a hard-coded id replaced by a Ref...)
        return Outcome.UNKNOWN

    def _dependency(self, logical_id: str) -> Outcome:
        replaced = self.replacement(logical_id)
        return _BY_REPLACEMENT.get(replaced, Outcome.SAME) if replaced else Outcome.SAME

    def _symbols(self, old: Sym, new: Sym) -> Outcome:
        if old.kind != new.kind or len(old.args) != len(new.args):
            return Outcome.UNKNOWN if "Fn::If" in (old.kind, new.kind) else Outcome.CHANGED
        outcome = max((self.compare(a, b) for a, b in zip(old.args, new.args, strict=True)),
                      default=Outcome.SAME)
        if old.kind == "Fn::If" and outcome is Outcome.CHANGED:
            return Outcome.UNKNOWN  # the branch taken is decided at deploy time
        return outcome


def canonical(value: Any) -> str:
    """A stable text for a resolved value, to compare unordered lists and statements."""
    return json.dumps(_plain(value), sort_keys=True, default=repr)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return value
    return repr(freeze(value))
