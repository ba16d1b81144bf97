"""Packaging: local nested templates, snippets and code, uploaded once and pinned by version.

``changegate validate`` accepts a relative path inside the stack's folder wherever a template names
deployable content (``generator/contract/content_sources.py``: ``SOURCES`` and ``AWS::Include``). This
module does what ``aws cloudformation package`` does for those paths, but reproducibly and pinned:

* each referenced file is uploaded once, under a content-addressed key the sync role may write
  (``<prefix>.assets/<folder>/<sha256><suffix>``, inside the prefix the sync owns; the state
  listing starts after ``@`` and uses ``/`` as delimiter, so it never sees these keys). A key
  that exists already is not written again (one HEAD tells its version);
* a code folder (Lambda ``Code``, SAM ``CodeUri``/``ContentUri``, a layer, a Beanstalk bundle) is
  zipped with ``generator/zipfiles.py``: the same files give the same bytes; a single code file
  that is not already a ``.zip``/``.jar``/``.war`` is zipped on its own, as the AWS CLI does;
* a nested template (``AWS::CloudFormation::Stack`` ``TemplateURL``, ``AWS::Serverless::Application``
  ``Location``) is packaged recursively first: its own local references are uploaded and pinned,
  then the rewritten child is uploaded. Paths inside a nested template (and a snippet) are
  relative to that file's folder (as ``aws cloudformation package`` resolves them) and must stay
  inside the stack's folder; the nested template's other references get validate's check
  (``content_problems``), since validate reads only the stack's own template;
* the template in the stack's archive is rewritten to point at exactly the versions uploaded:
  ``TemplateURL: https://<bucket>.s3.<region>.amazonaws.com/<key>?versionId=<v>`` (the URL form the
  AWS fidelity notes checked for the bootstrap deploy, plus the version query that
  ``content_sources`` already accepts as a pin), Lambda ``Code: {S3Bucket, S3Key, S3ObjectVersion}``,
  SAM ``{Bucket, Key, Version}``, the ``*S3Location`` mappings with their ``Version``;
* ``AWS::Include`` has no version pin in AWS (its ``Location`` is "the Amazon S3 URI", no version
  parameter: AWS::Include transform reference), so a snippet in S3 could be replaced after review.
  Its content is inlined instead: the archive's template holds the snippet's text itself, which is
  what the approver's change set is computed from. A snippet may itself name local content.

The rewritten template is written as JSON (valid YAML, so ``template.yaml`` still holds it; see
``naming.ARCHIVE_TEMPLATE``); a stack without local references ships its bytes unchanged.

Hashes: the archive's content hash (what the sync compares with the one it stored) is computed
offline, before any request, over the repository's bytes: the template as written, the config,
and each referenced asset's content hash. Never over version ids: identical content gives an
identical hash, and a changed code file changes the hash (so the stack is shipped) while nothing
else does. The uploaded zip holds the rewritten template; its pins are a function of the asset
hashes, because a content-addressed key is written once and keeps its version.

Assets are never deleted: a removed or changed stack's earlier archive versions still pin them,
and versions are what pipelines run. Unused assets cost storage only; nothing here removes them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from botocore.exceptions import BotoCoreError, ClientError

from generator import naming
from generator.contract.content_sources import SOURCES, Source, content_problems
from generator.contract.documents import MAX_TEMPLATE_BYTES, TEMPLATE_LIMIT_NOTE, read_document
from generator.contract.resolve import Resolver, path_text
from generator.contract.stacks import LoadedStack
from generator.contract.transforms import INCLUDE
from generator.errors import SyncError
from generator.zipfiles import Archive, build_archive, content_hash
from sync.archive import archive_entries
from sync.state import (
    ABSENT_CODES,
    DENIED_CODES,
    META_SHA256,
    error_code,
    is_conflict,
    listed_absent,
    version_of,
)

ASSETS_FOLDER = ".assets"  # under the prefix; a dot folder, like the manifest's, the listing skips
CODE_ARCHIVES = (".zip", ".jar", ".war")  # code files uploaded as they are
MAX_DEPTH = 5  # nested templates within nested templates (CloudFormation nests deeper; so may we)
HASH_INPUTS = ".changegate/inputs"  # the archive hash's extra entries (never in the zip itself)

_BY_TYPE: dict[str, list[Source]] = {}
for _source in SOURCES:
    if _source.local:
        _BY_TYPE.setdefault(_source.type, []).append(_source)
_NESTED = {("AWS::CloudFormation::Stack", ("TemplateURL",)),
           ("AWS::Serverless::Application", ("Location",))}


@dataclass(frozen=True)
class Asset:
    """One file or folder of the stack's folder, as it is uploaded."""

    relpath: str  # relative to the repository root, POSIX (for messages and the worktree check)
    sha256: str  # content hash: file bytes, zip content, or template bytes and its children's
    suffix: str  # the key's ending: ".zip", ".yaml", ".json", ...
    data: bytes | None  # what is uploaded; None for a nested template (built once its children are)
    template: Any = None  # a nested template, decoded (includes inlined)
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True)
class Reference:
    """A place in a template (``path``) that names local content, and that content."""

    path: tuple
    source: Source
    asset: Asset


@dataclass(frozen=True)
class PackagedStack:
    """A stack whose template names local content: what to upload, and its offline hash."""

    folder: str
    sha256: str  # the archive's content hash (see the module docstring)
    entries: dict[str, bytes]  # the archive's entries before packaging
    template: Any  # decoded, includes inlined
    references: tuple[Reference, ...]
    files: frozenset[str]  # every repository file read, relative to the root (worktree check)


def local_archive(stack: LoadedStack, root: Path, allowed: tuple[str, ...] = ()) -> Archive | PackagedStack:
    """The stack's archive, or, when its template names local content, what to package.

    Raises ``SyncError`` naming the file and key when local content cannot be packaged (a nested
    template or snippet that does not load, leaves its folder, or names unreviewed content).
    """
    entries = archive_entries(stack)
    if not _may_reference(stack.template_bytes):
        return build_archive(entries)
    base = stack.source.directory
    reader = _Reader(Path(root), stack.name, base, allowed)
    template, includes = reader.inline(stack.template, base, stack.template_relpath)
    if includes:  # validate judged the template before the snippets joined it
        reader.judge(template, stack.template_bytes, stack.template_relpath, base,
                     stack.configuration.parameters)
    references = reader.references(template, base, stack.template_relpath, depth=0)
    if not references and not includes:
        return build_archive(entries)
    inputs = dict(entries)
    for relpath, digest in includes.items():
        inputs[f"{HASH_INPUTS}/include/{relpath}"] = digest.encode()
    for reference in references:
        inputs[f"{HASH_INPUTS}/{path_text(reference.path)}"] = reference.asset.sha256.encode()
    return PackagedStack(folder=stack.name, sha256=content_hash(inputs), entries=entries,
                         template=template, references=references,
                         files=frozenset(reader.files))


def _may_reference(raw: bytes) -> bool:
    # every packaged reference is a property named here or an AWS::Include: most templates have none
    return any(word in raw for word in (b"TemplateURL", b"Code", b"ContentUri", b"DefinitionUri",
                                        b"S3Location", b"SourceBundle", b"ScriptLocation",
                                        b"Location", b"Include"))


class _Reader:
    """Finds the local references of a template (recursively) and reads their content."""

    def __init__(self, root: Path, folder: str, stack_dir: Path, allowed: tuple[str, ...]) -> None:
        self.root, self.folder, self.allowed = root, folder, allowed
        self.stack_dir = stack_dir.resolve()
        self.files: set[str] = set()
        self.assets: dict[Path, Asset] = {}  # one read per file, however often it is named
        self.visiting: list[Path] = []

    def _fail(self, relpath: str, path: tuple, what: str, hint: str) -> SyncError:
        where = f" at {path_text(path)}" if path else ""
        return SyncError(f"{relpath}{where}: {what}\n    hint: {hint}")

    def _target(self, text: str, base: Path, relpath: str, path: tuple) -> Path:
        relative = Path(unquote(text))
        target = (base / relative).resolve()
        if relative.is_absolute() or not target.is_relative_to(self.stack_dir):
            raise self._fail(relpath, path, f"{text!r} leaves the stack's folder "
                             f"(stacks/{self.folder}/): only files inside it are reviewed with it",
                             f"move the file into stacks/{self.folder}/ and give its path relative "
                             f"to the folder of {relpath}")
        if not target.exists():
            raise self._fail(relpath, path, f"{text!r} is not a file in the folder of {relpath}",
                             "add the file, or fix the path (relative to the template's folder)")
        return target

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root.resolve()).as_posix()

    def _load(self, target: Path, relpath: str, path: tuple, *,
              mapping: bool = True) -> tuple[Any, bytes]:
        document = read_document(target, self.root.resolve(), stack=self.folder, precise=False)
        if document.data is None or (mapping and not isinstance(document.data, Mapping)):
            why = "; ".join(p.message for p in document.problems) or "it is not a mapping"
            raise self._fail(relpath, path, f"{self._rel(target)} does not load: {why}",
                             "fix that file (it is packaged into the stack)")
        self.files.add(self._rel(target))
        return _plain(document.data), document.raw

    # AWS::Include ---------------------------------------------------------------------------

    def inline(self, template: Any, base: Path, relpath: str) -> tuple[Any, dict[str, str]]:
        """The template with every local ``AWS::Include`` replaced by the snippet's content."""
        includes: dict[str, str] = {}
        result = self._inline(_plain(template), base, relpath, (), includes, depth=0)
        if isinstance(result, dict) and isinstance(result.get("Transform"), (dict, list)):
            result = self._top_level(result, base, relpath, includes)
        return result, includes

    def _snippet(self, value: Any, base: Path, relpath: str, path: tuple,
                 includes: dict[str, str], depth: int) -> tuple[bool, Any]:
        if not (isinstance(value, Mapping) and value.get("Name") == INCLUDE):
            return False, None
        location = (value.get("Parameters") or {}).get("Location")
        if not isinstance(location, str) or "://" in location:
            return False, None  # a remote location: validate's to judge, left as it is
        if depth >= MAX_DEPTH:
            raise self._fail(relpath, path, "AWS::Include snippets nest too deep",
                             f"include at most {MAX_DEPTH} levels deep")
        target = self._target(location, base, relpath, (*path, "Parameters", "Location"))
        data, raw = self._load(target, relpath, (*path, "Parameters", "Location"), mapping=False)
        includes[self._rel(target)] = hashlib.sha256(raw).hexdigest()
        return True, self._inline(data, target.parent, self._rel(target), (), includes, depth + 1)

    def _inline(self, node: Any, base: Path, relpath: str, path: tuple,
                includes: dict[str, str], depth: int) -> Any:
        if isinstance(node, list):
            return [self._inline(v, base, relpath, (*path, i), includes, depth)
                    for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        out: dict = {}
        for key, value in node.items():
            if key == "Fn::Transform":
                found, snippet = self._snippet(value, base, relpath, (*path, key), includes, depth)
                if found:
                    # "Fn::Transform: {Name: AWS::Include}" alone is replaced by the snippet;
                    # beside other keys, the snippet's keys join them (AWS::Include transform)
                    if len(node) == 1:
                        return snippet
                    if not isinstance(snippet, dict):
                        raise self._fail(relpath, (*path, key), "this snippet is not a mapping, "
                                         "so it cannot join the keys beside it",
                                         "make the snippet a mapping, or include it alone")
                    out.update(snippet)
                    continue
            out[key] = self._inline(value, base, relpath, (*path, key), includes, depth)
        return out

    def _top_level(self, template: dict, base: Path, relpath: str,
                   includes: dict[str, str]) -> dict:
        top = template["Transform"]
        items = top if isinstance(top, list) else [top]
        kept, merged = [], dict(template)
        for index, item in enumerate(items):
            found, snippet = self._snippet(item, base, relpath, ("Transform", index), includes, 0)
            if not found:
                kept.append(item)
                continue
            if not isinstance(snippet, dict):
                raise self._fail(relpath, ("Transform",), "a top-level AWS::Include snippet must "
                                 "be a mapping of template sections", "fix the snippet")
            for section, content in snippet.items():
                if isinstance(content, dict) and isinstance(merged.get(section), dict):
                    merged[section] = {**merged[section], **content}
                else:
                    merged[section] = content
        if kept:
            merged["Transform"] = kept if isinstance(top, list) else kept[0]
        else:
            merged.pop("Transform")
        return merged

    # references -----------------------------------------------------------------------------

    def references(self, template: Any, base: Path, relpath: str, depth: int) -> tuple[Reference, ...]:
        found: list[Reference] = []
        resources = template.get("Resources") if isinstance(template, dict) else None
        for logical_id, resource in (resources or {}).items():
            if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
                continue
            for source in _BY_TYPE.get(str(resource.get("Type")), ()):
                node: Any = resource["Properties"]
                for key in source.path:
                    node = node.get(key) if isinstance(node, dict) else None
                if not isinstance(node, str) or "://" in node or node.startswith("arn:"):
                    continue  # a mapping, an intrinsic or a remote location: not local content
                path = ("Resources", logical_id, "Properties", *source.path)
                asset = self._asset(source, node, base, relpath, path, depth)
                found.append(Reference(path=path, source=source, asset=asset))
        return tuple(found)

    def _asset(self, source: Source, text: str, base: Path, relpath: str, path: tuple,
               depth: int) -> Asset:
        target = self._target(text, base, relpath, path)
        if (source.type, source.path) in _NESTED:
            return self._nested(target, relpath, path, depth)
        if target in self.assets:
            return self.assets[target]
        if target.is_dir():
            if not source.folder:
                raise self._fail(relpath, path, f"{text!r} is a folder; {source.type} takes a file",
                                 "name the file")
            files = sorted(p for p in target.rglob("*") if p.is_file())
            if not files:
                raise self._fail(relpath, path, f"{text!r} is an empty folder",
                                 "put the code in it, or fix the path")
            entries = {p.relative_to(target).as_posix(): p.read_bytes() for p in files}
            self.files.update(self._rel(p) for p in files)
            archive = build_archive(entries)
            asset = Asset(self._rel(target), archive.sha256, ".zip", archive.data)
        else:
            raw = target.read_bytes()
            self.files.add(self._rel(target))
            if source.folder and target.suffix.lower() not in CODE_ARCHIVES:
                archive = build_archive({target.name: raw})  # one code file: zipped, as the CLI does
                asset = Asset(self._rel(target), archive.sha256, ".zip", archive.data)
            else:
                asset = Asset(self._rel(target), hashlib.sha256(raw).hexdigest(),
                              _suffix(target), raw)
        self.assets[target] = asset
        return asset

    def _nested(self, target: Path, relpath: str, path: tuple, depth: int) -> Asset:
        if target in self.visiting:
            raise self._fail(relpath, path, f"{self._rel(target)} includes itself (through nested "
                             "templates)", "break the cycle")
        if depth + 1 > MAX_DEPTH:
            raise self._fail(relpath, path, "nested templates nest too deep",
                             f"nest at most {MAX_DEPTH} levels")
        if target in self.assets:
            return self.assets[target]
        child_relpath = self._rel(target)
        data, raw = self._load(target, relpath, path)
        self.visiting.append(target)
        try:
            data, includes = self.inline(data, target.parent, child_relpath)
            self.judge(data, raw, child_relpath, target.parent)
            children = self.references(data, target.parent, child_relpath, depth + 1)
        finally:
            self.visiting.pop()
        inputs = {"template": raw}
        inputs.update({f"include/{k}": v.encode() for k, v in includes.items()})
        inputs.update({path_text(r.path): r.asset.sha256.encode() for r in children})
        asset = Asset(child_relpath, content_hash(inputs), _suffix(target), None, data, children)
        self.assets[target] = asset
        return asset

    def judge(self, template: Any, raw: bytes, relpath: str, folder: Path,
              parameters: Mapping[str, str] | None = None) -> None:
        """validate checks the stack's own template as written; a nested template and included
        snippets ship too, so they get the same check (``content_problems``)."""
        # local paths are judged by _target (relative to the nested template's folder, inside the
        # stack's folder); content_problems would judge them against the stack's folder
        local = ("content-outside-stack-folder", "content-file-missing")
        problems = [p for p in content_problems(template, relpath, self.folder, folder, self.allowed,
                                                Resolver(template, parameters or {}),
                                                may_transform=b"Transform" in raw)
                    if p.is_error and p.check not in local]
        if problems:
            lines = "\n".join(f"    {p.key or ''}: {p.message}" for p in problems)
            raise SyncError(f"{relpath} (packaged into stacks/{self.folder}, with its includes) names "
                            f"content that cannot be packaged:\n{lines}\n    hint: {problems[0].hint}")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    return suffix if suffix and suffix[1:].isalnum() and len(suffix) <= 8 else ".bin"


def _plain(node: Any) -> Any:
    """Plain dicts, lists and strings (the decoders' node types carry line marks)."""
    return json.loads(json.dumps(node, default=str))


# uploading ------------------------------------------------------------------------------------


def asset_key(prefix: str, folder: str, asset: Asset) -> str:
    return f"{prefix}{ASSETS_FOLDER}/{folder}/{asset.sha256}{asset.suffix}"


def s3_endpoint(region: str) -> str:
    """The S3 endpoint domain of ``region`` (China regions have their own)."""
    return f"s3.{region}.amazonaws.com" + (".cn" if region.startswith("cn-") else "")


@dataclass(frozen=True)
class Uploaded:
    key: str
    version_id: str
    written: bool  # False: the key existed already


class Packager:
    """Uploads one stack's assets (children first) and builds its archive with pinned references."""

    def __init__(self, s3: Any, bucket: str, prefix: str, region: str) -> None:
        self.s3, self.bucket, self.prefix, self.region = s3, bucket, prefix, region
        self.uploaded: list[Uploaded] = []
        self._done: dict[str, Uploaded] = {}

    def archive(self, stack: PackagedStack) -> Archive:
        template = self._rewrite(stack.folder, stack.template, stack.references)
        entries = dict(stack.entries)
        entries[naming.ARCHIVE_TEMPLATE] = body = _template_bytes(template)
        if len(body) > MAX_TEMPLATE_BYTES:  # included snippets and the JSON form can grow it
            raise SyncError(f"stacks/{stack.folder}: the packaged template is {len(body):,} bytes; "
                            f"the limit is {MAX_TEMPLATE_BYTES:,} bytes ({TEMPLATE_LIMIT_NOTE})\n"
                            "    hint: move resources into a nested template in the stack's folder")
        return Archive(data=build_archive(entries).data, sha256=stack.sha256)

    def _rewrite(self, folder: str, template: Any, references: tuple[Reference, ...]) -> Any:
        result = _plain(template)
        for reference in references:
            placed = self._upload(folder, reference.asset)
            _set(result, reference.path, self._pointer(reference.source, placed))
        return result

    def _upload(self, folder: str, asset: Asset) -> Uploaded:
        key = asset_key(self.prefix, folder, asset)
        if key in self._done:
            return self._done[key]
        existing = self._head(key)
        if existing is None:
            data = asset.data
            if data is None:  # a nested template: its children first, then its pinned text
                data = _template_bytes(self._rewrite(folder, asset.template, asset.references))
            existing = self._put(key, data, asset)
        self._done[key] = existing
        return existing

    def _head(self, key: str) -> Uploaded | None:
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            # without s3:ListBucket on the key S3 answers 403, not 404, for a missing key (see
            # sync/state.py, F19): absent only when a listing of exactly that key shows none
            code = error_code(exc)
            if code in ABSENT_CODES or (code in DENIED_CODES
                                        and listed_absent(self.s3, self.bucket, key)):
                return None
            raise
        return Uploaded(key, self._version(key, head), written=False)

    def _put(self, key: str, data: bytes, asset: Asset) -> Uploaded:
        try:
            # IfNoneMatch: a content-addressed key is written once; whoever wrote it first wrote
            # the same content, so a conflict means "use that one"
            response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data,
                                          ContentType=_content_type(asset.suffix),
                                          Metadata={META_SHA256: asset.sha256}, IfNoneMatch="*")
        except ClientError as exc:
            if is_conflict(exc) and (again := self._head(key)) is not None:
                return again
            raise
        uploaded = Uploaded(key, self._version(key, response), written=True)
        self.uploaded.append(uploaded)
        return uploaded

    def _version(self, key: str, response: Mapping[str, Any]) -> str:
        version = version_of(response)
        if version is None:
            raise SyncError(f"s3://{self.bucket}/{key} has no version id: packaged content cannot "
                            "be pinned\n    hint: enable versioning on the source bucket")
        return version

    def _pointer(self, source: Source, placed: Uploaded) -> Any:
        if source.bucket:
            pointer = {source.bucket: self.bucket, source.key: placed.key}
            if source.version:
                pointer[source.version] = placed.version_id
            return pointer
        if source.uri_version:
            return (f"https://{self.bucket}.{s3_endpoint(self.region)}/{quote(placed.key)}"
                    f"?versionId={quote(placed.version_id, safe='')}")
        # no version field in AWS (AppSync, Glue): the key is content-addressed and written once
        return f"s3://{self.bucket}/{placed.key}"


def package_stack(s3: Any, bucket: str, prefix: str, stack: PackagedStack) -> tuple[Archive, list[Uploaded]]:
    """Upload ``stack``'s assets and return its archive; raises ``SyncError`` on failure."""
    region = s3.meta.region_name or "us-east-1"
    packager = Packager(s3, bucket, prefix, region)
    try:
        return packager.archive(stack), packager.uploaded
    except (ClientError, BotoCoreError) as exc:
        raise SyncError(f"stacks/{stack.folder}: packaging its local content failed: {exc}") from exc


def _set(node: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _template_bytes(template: Any) -> bytes:
    return (json.dumps(template, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _content_type(suffix: str) -> str:
    return {".zip": "application/zip", ".json": "application/json", ".yaml": "application/yaml",
            ".yml": "application/yaml"}.get(suffix, "application/octet-stream")


def is_asset_key(key: str, prefix: str) -> bool:
    return key.startswith(f"{prefix}{ASSETS_FOLDER}/")
