"""Read a YAML or JSON document from the repository into Python values with line numbers.

Templates, stack configs and ``pipelines/config.yaml`` all go through ``read_document``.
It uses cfn-lint's decoder, which understands the short-form intrinsics (``!Ref``,
``!Sub``...), reports duplicate keys, and keeps each mapping's line (``start_mark``).
Before decoding it refuses what the decoder would mishandle: an empty file, a file that
is not UTF-8, and YAML aliases (CloudFormation rejects them in templates, and a nested
alias "bomb" is cheap to parse but explodes when walked).

Two decoders, one meaning. cfn-lint's decoder is pure Python (about 3 ms for a 2 KB
template, and importing it costs half a second): too slow for a sync that checks 1,000
unchanged stacks on every merge. ``precise=False`` decodes with C-speed parsers instead
(stdlib ``json``; libyaml with the same short-form tag expansion and duplicate-key refusal)
and carries no line numbers. Callers check with the fast decoder and, only when a file has
a problem, decode it again precisely so that every reported problem names its line.
Anything the fast decoder cannot decode exactly (a duplicate key, a syntax error, no
libyaml) falls back to the precise decoder, which reports it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.contract.problems import Problem, error

# CloudFormation's limit for a template passed through S3: "Template body size in an Amazon S3
# object: 1 MB" (CloudFormation quotas), and 1 MB is 1,000,000 bytes there: a template of
# 1,000,001 bytes is refused. No file changegate reads may be larger.
MAX_DOCUMENT_BYTES = 1_000_000
# A stack template reaches CloudFormation through CodePipeline's CloudFormation action, which takes
# less: "The Cloudformation Action in the CodePipeline only allowing 512KB of template" (open since
# 2022: github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1023; aws-fidelity
# notes, F10). 512,000 bytes is the conservative reading of "512KB".
MAX_TEMPLATE_BYTES = 512_000
TEMPLATE_LIMIT_NOTE = ("CodePipeline's CloudFormation action takes templates of at most 512 KB "
                       "(cloudformation-coverage-roadmap issue 1023), less than CloudFormation's 1 MB")
# JSON has no NaN or Infinity; Python's json module accepts them, CloudFormation refuses the template.
_JSON_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


@dataclass(frozen=True)
class Document:
    """A decoded file: ``data`` is None when ``problems`` holds an error."""

    path: Path
    relpath: str
    raw: bytes
    data: Any
    problems: tuple[Problem, ...]
    precise: bool = True  # False: decoded by the fast decoder, without line numbers


def line_of(value: Any) -> int | None:
    """The 1-based line where a decoded mapping, list or string starts, when known."""
    mark = getattr(value, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def key_line(mapping: Any, key: str) -> int | None:
    """The line of ``key`` inside a decoded mapping (the key's own line, not its value's)."""
    for candidate in getattr(mapping, "keys", lambda: [])():
        if candidate == key:
            return line_of(candidate) or line_of(mapping)
    return line_of(mapping)


def read_document(path: Path, root: Path, *, max_bytes: int = MAX_DOCUMENT_BYTES,
                  stack: str | None = None, precise: bool = True,
                  limit_note: str | None = None) -> Document:
    """Read and decode ``path``; ``limit_note`` says where ``max_bytes`` comes from, for the message."""
    relpath = _relative(path, root)

    def failed(check: str, message: str, hint: str | None = None, line: int | None = None):
        problem = error(relpath, check, message, hint=hint, line=line, stack=stack)
        return Document(path, relpath, raw, None, (problem,))

    raw = b""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return failed("file-unreadable", f"cannot read the file: {exc.strerror}")
    if not raw.strip():
        return failed("file-empty", "the file is empty",
                      "write the document, or delete the file")
    if len(raw) > max_bytes:
        why = f" ({limit_note})" if limit_note else ""
        return failed("file-too-large",
                      f"the file is {len(raw):,} bytes; the limit is {max_bytes:,} bytes{why}",
                      "split the stack (nested stacks) or move large blobs out of it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return failed("file-not-utf8",
                      f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                      "save the file as UTF-8", line=line)
    alias_line = _first_alias_line(text)
    if alias_line is not None:
        return failed("yaml-alias", "YAML aliases (*name) are not accepted",
                      "CloudFormation rejects YAML anchors and aliases; write the value out",
                      line=alias_line)
    if path.suffix == ".json":
        constant = _json_constant(text)
        if constant is not None:
            word, line = constant
            return failed("json-not-a-number", f"{word} is not a JSON value (CloudFormation refuses "
                          "the document; only Python's JSON reader accepts it)",
                          "write the number itself, or a string (\"NaN\") where text is meant",
                          line=line)
    if not precise:
        fast = _fast_decode(text, path.suffix)
        if fast is not _UNDECIDED:
            return Document(path, relpath, raw, fast, (), precise=False)
    from cfnlint.decode.decode import decode_str  # half a second to import: only when needed

    data, matches = decode_str(text)
    if matches:
        problems = tuple(
            error(relpath, "file-syntax", _clean_parse_message(m.message),
                  line=m.linenumber or None, stack=stack,
                  hint="fix the YAML/JSON syntax at that line")
            for m in matches
        )
        return Document(path, relpath, raw, None, problems)
    return Document(path, relpath, raw, data, ())


_UNDECIDED = object()


class _DuplicateKey(Exception):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey
    return result


class _FastCfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml with CloudFormation's short-form tags, expanded as cfn-lint expands them."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        if len(set(map(_hashable, keys))) != len(keys):
            raise _DuplicateKey
        return super().construct_mapping(node, deep=deep)


def _hashable(key: Any) -> Any:
    return key if isinstance(key, str | int | float | bool | type(None)) else repr(key)


def _construct_short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.MappingNode):
        value: Any = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_scalar(node)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_FastCfnLoader.add_multi_constructor("!", _construct_short_form)


def _fast_decode(text: str, suffix: str) -> Any:
    """The document decoded at C speed, or ``_UNDECIDED`` when only the precise decoder can tell."""
    if not hasattr(yaml, "CSafeLoader") and suffix != ".json":
        return _UNDECIDED  # pure-Python PyYAML: no faster than cfn-lint's decoder
    try:
        if suffix == ".json":
            return json.loads(text, object_pairs_hook=_unique_pairs)
        return yaml.load(text, Loader=_FastCfnLoader)  # a SafeLoader: builds no Python objects
    except (_DuplicateKey, ValueError, yaml.YAMLError, TypeError, RecursionError):
        return _UNDECIDED


def _json_constant(text: str) -> tuple[str, int] | None:
    """The first NaN/Infinity outside a string, with its line, or None."""
    if "NaN" not in text and "Infinity" not in text:
        return None
    for match in _JSON_CONSTANT.finditer(text):
        if match.group(1):
            return match.group(1), text.count("\n", 0, match.start()) + 1
    return None


def _first_alias_line(text: str) -> int | None:
    # An alias needs an anchor, and an anchor needs "&": most files skip the scan entirely.
    if "&" not in text:
        return None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.AliasToken | yaml.AnchorToken):
                return token.start_mark.line + 1
    except yaml.YAMLError:
        return None  # the decoder reports the syntax error itself, with its line
    return None


def _clean_parse_message(message: str) -> str:
    return " ".join(str(message).split())


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
