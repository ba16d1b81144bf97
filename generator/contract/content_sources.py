"""Everything that deploys was reviewed: content from outside the repository is refused.

Nested templates, ``AWS::Include`` snippets, Lambda code and layers, state machine and API
definitions, scripts and bundles that a template points to are deployed as they are when
CloudFormation (or the service) reads them, and approvers see one line for them ("Modify
AWS::CloudFormation::Stack"). So each such reference must be either:

- a relative path to a file or folder inside the stack's own folder, which the sync packages
  into the source bucket and references pinned to the object version it uploaded (as
  ``aws cloudformation package`` does, but reproducible and versioned); or
- a location on the owners' allow-list (``content_sources.allowed`` in pipelines/config.yaml)
  AND pinned to one version (an S3 object version id, an image digest), so that what was
  reviewed is what deploys. Where AWS offers no version pin for a property (``AWS::Include``,
  Glue scripts, AppSync, Elastic Beanstalk bundles), only the local file is accepted.

A value built from parameters or intrinsics that cannot be resolved offline is refused: it could
point anywhere (``resolve.py`` says what resolves).

The properties covered are in ``SOURCES``. Resource types not listed there are not inspected by
this check; their properties are reviewed as template text like any other value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from generator.contract.config import CONFIG_RELPATH
from generator.contract.problems import Problem, error
from generator.contract.resolve import Resolver, line_at, path_text
from generator.contract.transforms import INCLUDE, transform_name, transform_nodes


@dataclass(frozen=True)
class Source:
    """One property that names deployable content, and the forms it takes.

    ``bucket``/``key``/``version``: the key names of its mapping form (``version`` None: the
    mapping has no version field). ``uri_version``: a string S3 URI may carry ``?versionId=``
    that the service honours. ``local``: a relative path is packaged by the sync.
    """

    type: str
    path: tuple[str, ...]
    bucket: str | None = None
    key: str | None = None
    version: str | None = None
    uri_version: bool = False
    local: bool = True
    image: bool = False  # a container image URI, pinned by digest
    folder: bool = False  # a local path may name a folder (code), not only a file


_LAMBDA = dict(bucket="S3Bucket", key="S3Key", version="S3ObjectVersion", folder=True)
_SAM = dict(bucket="Bucket", key="Key", version="Version", uri_version=True)
_SAM_CODE = dict(_SAM, folder=True)
_VERSIONED = dict(bucket="Bucket", key="Key", version="Version")
SOURCES: tuple[Source, ...] = (
    # "TemplateURL ... The URL must point to a template that's located in an Amazon S3 bucket";
    # the nested stack is created from it at execution, after the approval of the parent.
    Source("AWS::CloudFormation::Stack", ("TemplateURL",), uri_version=True),
    Source("AWS::Lambda::Function", ("Code",), **_LAMBDA),
    Source("AWS::Lambda::Function", ("Code", "ImageUri"), local=False, image=True),
    Source("AWS::Lambda::LayerVersion", ("Content",), **_LAMBDA),
    Source("AWS::Serverless::Function", ("CodeUri",), **_SAM_CODE),
    Source("AWS::Serverless::Function", ("ImageUri",), local=False, image=True),
    Source("AWS::Serverless::LayerVersion", ("ContentUri",), **_SAM_CODE),
    Source("AWS::Serverless::Api", ("DefinitionUri",), **_SAM),
    Source("AWS::Serverless::HttpApi", ("DefinitionUri",), **_SAM),
    Source("AWS::Serverless::StateMachine", ("DefinitionUri",), **_SAM),
    Source("AWS::Serverless::Application", ("Location",), uri_version=True),
    Source("AWS::StepFunctions::StateMachine", ("DefinitionS3Location",), **_VERSIONED),
    Source("AWS::ApiGateway::RestApi", ("BodyS3Location",), **_VERSIONED),
    Source("AWS::ApiGatewayV2::Api", ("BodyS3Location",), **_VERSIONED),
    Source("AWS::AppSync::GraphQLSchema", ("DefinitionS3Location",)),
    Source("AWS::AppSync::Resolver", ("RequestMappingTemplateS3Location",)),
    Source("AWS::AppSync::Resolver", ("ResponseMappingTemplateS3Location",)),
    Source("AWS::AppSync::Resolver", ("CodeS3Location",)),
    Source("AWS::AppSync::FunctionConfiguration", ("RequestMappingTemplateS3Location",)),
    Source("AWS::AppSync::FunctionConfiguration", ("ResponseMappingTemplateS3Location",)),
    Source("AWS::AppSync::FunctionConfiguration", ("CodeS3Location",)),
    Source("AWS::ElasticBeanstalk::ApplicationVersion", ("SourceBundle",),
           bucket="S3Bucket", key="S3Key", folder=True),
    Source("AWS::Glue::Job", ("Command", "ScriptLocation")),
    # registering a resource type or module runs its handler code for every stack that uses it
    Source("AWS::CloudFormation::ResourceVersion", ("SchemaHandlerPackage",), local=False),
    Source("AWS::CloudFormation::ModuleVersion", ("ModulePackage",), local=False),
)
_BY_TYPE: dict[str, list[Source]] = {}
for _source in SOURCES:
    _BY_TYPE.setdefault(_source.type, []).append(_source)
CODEBUILD = "AWS::CodeBuild::Project"

# https URLs of S3 objects: virtual-hosted (bucket.s3[.-]region.amazonaws.com/key) and path
# style (s3[.-]region.amazonaws.com/bucket/key), as S3's "Methods for accessing a bucket" lists.
_VIRTUAL_HOST = re.compile(r"\A(?P<bucket>[a-z0-9][a-z0-9.-]*)\.s3(?:[.-][a-z0-9-]+)?"
                           r"\.amazonaws\.com(?:\.cn)?\Z")
_PATH_HOST = re.compile(r"\As3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?\Z")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class _Location:
    """Where a reference points: an S3 object (``bucket``, ``key``, ``version``) or an image."""

    text: str  # as the error shows it
    bucket: str | None = None
    key: str = ""
    version: str | None = None
    image: str | None = None


def content_problems(template: Mapping, relpath: str, stack: str, stack_dir: Path,
                     allowed: tuple[str, ...], resolver: Resolver, *,
                     may_transform: bool) -> list[Problem]:
    """Every reference to content that would deploy without having been reviewed."""
    check = _Checker(template, relpath, stack, stack_dir, allowed, resolver)
    resources = template.get("Resources")
    for logical_id, resource in resources.items() if isinstance(resources, Mapping) else ():
        if not isinstance(resource, Mapping):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties")
        if not isinstance(properties, Mapping) or not isinstance(kind, str):
            continue
        base = ("Resources", logical_id, "Properties")
        for source in _BY_TYPE.get(kind, ()):
            value, path = _dig(properties, source.path, base)
            if value is not None:
                check.reference(source, value, path)
        if kind == CODEBUILD:
            check.codebuild(properties, base)
    for path, value in transform_nodes(template) if may_transform else ():
        if transform_name(value) == INCLUDE:
            include = Source(INCLUDE, ("Location",))
            parameters = value.get("Parameters") if isinstance(value, Mapping) else None
            location = parameters.get("Location") if isinstance(parameters, Mapping) else None
            check.reference(include, location, (*path, "Parameters", "Location"))
    return check.problems


def _dig(properties: Mapping, keys: tuple[str, ...], base: tuple) -> tuple[Any, tuple]:
    node: Any = properties
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return None, base
        node = node[key]
    return node, (*base, *keys)


class _Checker:
    def __init__(self, template: Mapping, relpath: str, stack: str, stack_dir: Path,
                 allowed: tuple[str, ...], resolver: Resolver) -> None:
        self.template, self.relpath, self.stack = template, relpath, stack
        self.stack_dir, self.allowed, self.resolver = stack_dir, allowed, resolver
        self.problems: list[Problem] = []

    def _report(self, check: str, path: tuple, what: str, hint: str) -> None:
        where = path_text(path)
        self.problems.append(error(self.relpath, check, what, key=where,
                                   line=line_at(self.template, path), stack=self.stack, hint=hint))

    def _allow_hint(self, location: str) -> str:
        return (f"keep the file in stacks/{self.stack}/ and give its relative path (the sync "
                f"packages and pins it), or ask an owner to add {location} to "
                f"content_sources.allowed in {CONFIG_RELPATH} and pin the version")

    def reference(self, source: Source, value: Any, path: tuple) -> None:
        """Judge one reference of ``source``'s kind found at ``path``."""
        if value is None:
            self._report("content-not-resolvable", path,
                         f"{source.type} names no location here", "give the location literally")
            return
        if isinstance(value, Mapping) and source.bucket and source.bucket in value:
            self._mapping(source, value, path)
            return
        if isinstance(value, Mapping) and not ({"Ref", "Fn::Sub", "Fn::Join"} & set(value)):
            if source.type == "AWS::Lambda::Function" and {"ZipFile", "ImageUri"} & set(value):
                return  # ZipFile (inline code, in the template) or ImageUri (its own entry)
            if source.type == "AWS::Serverless::Application":
                self._report("content-outside-repository", path,
                             "a Serverless Application Repository application deploys a nested "
                             "template that is not in the repository",
                             "copy the application's template into the stack's folder and give "
                             "its relative path as Location")
                return
        text = self.resolver.string(value)
        if text is None:
            self._report("content-not-resolvable", path,
                         f"the location of this {source.type} content is built from values that "
                         "cannot be resolved offline (another resource, an import, an SSM "
                         "parameter): it could point anywhere, and nobody reviewed what it holds",
                         self._allow_hint("the location"))
            return
        if source.image:
            self._image(text, path)
            return
        location = _parse_url(text)
        if location is None:
            if "://" in text or text.startswith("arn:"):
                self._report("content-outside-repository", path,
                             f"{text!r} is neither an S3 location nor a file in the stack's folder",
                             self._allow_hint("an S3 location"))
                return
            self._local(source, text, path)
            return
        self._remote(source, location, path, pinnable=source.uri_version)

    def _mapping(self, source: Source, value: Mapping, path: tuple) -> None:
        bucket = self.resolver.string(value.get(source.bucket))
        key = self.resolver.string(value.get(source.key)) if source.key else ""
        if bucket is None or key is None:
            self._report("content-not-resolvable", path,
                         f"the bucket or key of this {source.type} content cannot be resolved "
                         "offline: it could point anywhere, and nobody reviewed what it holds",
                         self._allow_hint("the location"))
            return
        version = None
        if source.version and source.version in value:
            version = self.resolver.string(value[source.version])
            if version is None:
                self._report("content-not-resolvable", path,
                             f"{source.version} cannot be resolved offline: write the version "
                             "id literally", self._allow_hint(f"s3://{bucket}/{key}"))
                return
        self._remote(source, _Location(f"s3://{bucket}/{key}", bucket, key, version), path,
                     pinnable=source.version is not None, version_key=source.version)

    def _remote(self, source: Source, location: _Location, path: tuple, *, pinnable: bool,
                version_key: str | None = None) -> None:
        if not _allowed(location, self.allowed):
            self._report("content-outside-repository", path,
                         f"{location.text} is outside the repository and not on the "
                         "content_sources allow-list; what it holds deploys without review",
                         self._allow_hint(f"s3://{location.bucket}/ (or a narrower prefix)"))
        elif not pinnable:
            self._report("content-not-pinned", path,
                         f"{location.text} is on the allow-list, but {source.type} offers no way "
                         "to pin an object version here: the object can change after review",
                         f"keep the file in stacks/{self.stack}/ and give its relative path "
                         "(the sync packages it)")
        elif not location.version:
            pin = f"add {version_key}" if version_key else "add ?versionId=<version id> to the URL"
            self._report("content-not-pinned", path,
                         f"{location.text} is on the allow-list but not pinned to an object "
                         "version: the object can change after review",
                         f"{pin} (the version that was reviewed), or keep the file in "
                         f"stacks/{self.stack}/")

    def _image(self, text: str, path: tuple) -> None:
        repository = text.split("@")[0]
        name_start = repository.rfind("/") + 1
        if ":" in repository[name_start:]:  # a tag
            repository = repository[:name_start] + repository[name_start:].split(":")[0]
        if not any(repository == a or repository.startswith(a.rstrip("/") + "/")
                   for a in self.allowed if not a.startswith("s3://")):
            self._report("content-outside-repository", path,
                         f"the image {text!r} is not in a repository on the content_sources "
                         "allow-list; its code deploys without review",
                         f"ask an owner to add {repository} to content_sources.allowed in "
                         f"{CONFIG_RELPATH}, and pin the image by digest")
        elif not _DIGEST.search(text):
            self._report("content-not-pinned", path,
                         f"the image {text!r} is not pinned by digest: a tag can be moved to "
                         "other code after review",
                         "reference the image as <repository>@sha256:<digest>")

    def _local(self, source: Source, text: str, path: tuple) -> None:
        if not source.local:
            self._report("content-outside-repository", path,
                         f"{source.type} takes no file from the repository here ({text!r})",
                         "reference an allowed, version-pinned S3 object")
            return
        relative = Path(unquote(text))
        target = (self.stack_dir / relative).resolve()
        folder = self.stack_dir.resolve()
        if relative.is_absolute() or not target.is_relative_to(folder):
            self._report("content-outside-stack-folder", path,
                         f"{text!r} leaves the stack's folder (stacks/{self.stack}/): only files "
                         "inside it are packaged with the stack and reviewed with it",
                         f"move the file into stacks/{self.stack}/ and give its path relative "
                         "to that folder")
        elif not (target.is_file() or (source.folder and target.is_dir())):
            self._report("content-file-missing", path,
                         f"{text!r} is not a file in stacks/{self.stack}/"
                         + (" (nor a folder)" if source.folder else ""),
                         "add the file, or fix the path (relative to the stack's folder)")

    def codebuild(self, properties: Mapping, base: tuple) -> None:
        """S3 sources of a CodeBuild project: allowed and pinned by (Secondary)SourceVersion."""
        sources = [(properties.get("Source"), (*base, "Source"), properties.get("SourceVersion"))]
        versions = {}
        for item in properties.get("SecondarySourceVersions") or ():
            if isinstance(item, Mapping):
                versions[item.get("SourceIdentifier")] = item.get("SourceVersion")
        for index, item in enumerate(properties.get("SecondarySources") or ()):
            if isinstance(item, Mapping):
                sources.append((item, (*base, "SecondarySources", index),
                                versions.get(item.get("SourceIdentifier"))))
        for source, path, version in sources:
            if not isinstance(source, Mapping) or source.get("Type") != "S3":
                continue
            text = self.resolver.string(source.get("Location"))
            if text is None:
                self._report("content-not-resolvable", (*path, "Location"),
                             "the S3 location of this CodeBuild source cannot be resolved "
                             "offline: it could point anywhere",
                             self._allow_hint("the location"))
                continue
            # "<bucket>/<key>" or an S3 ARN (CodeBuild ProjectSource, Location)
            bucket_key = text.split(":::", 1)[1] if text.startswith("arn:") and ":::" in text else text
            bucket, _, key = bucket_key.partition("/")
            pinned = self.resolver.string(version) if version is not None else None
            self._remote(Source(CODEBUILD, ("Source",)),
                         _Location(f"s3://{bucket}/{key}", bucket, key, pinned), (*path, "Location"),
                         pinnable=True, version_key="SourceVersion (the S3 object version id)")


def _parse_url(text: str) -> _Location | None:
    """An S3 location from an s3:// URI or an https S3 URL; None for anything else."""
    parts = urlsplit(text)
    query = parse_qs(parts.query)
    version = (query.get("versionId") or [None])[0]
    if parts.scheme == "s3":
        return _Location(text, parts.netloc, unquote(parts.path.lstrip("/")), version)
    if parts.scheme not in ("https", "http"):
        return None
    host = parts.hostname or ""
    if match := _VIRTUAL_HOST.match(host):
        return _Location(text, match["bucket"], unquote(parts.path.lstrip("/")), version)
    if _PATH_HOST.match(host):
        bucket, _, key = parts.path.lstrip("/").partition("/")
        return _Location(text, bucket, unquote(key), version)
    return _Location(text, None, "", version)  # https, but not S3: never on the allow-list


def _allowed(location: _Location, allowed: tuple[str, ...]) -> bool:
    if location.bucket is None:
        return False
    target = f"s3://{location.bucket}/{location.key}"
    for entry in allowed:
        if not entry.startswith("s3://"):
            continue
        if entry.count("/") == 2:
            entry += "/"  # s3://bucket means the whole bucket
        if entry.endswith("/") and target.startswith(entry):
            return True
        if target == entry:
            return True
    return False
