"""``pipelines/config.yaml``: the protected settings, checked and loaded.

The raw YAML is validated against ``schemas/pipelines-config.schema.json`` (shipped in the
package, so editors can use it too), then turned into frozen dataclasses with explicit
defaults. Every problem is collected and raised together in one ``ConfigError``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema

from generator.contract.documents import key_line, line_of, read_document
from generator.contract.problems import Problem, error, render_all, warning
from generator.errors import ConfigError
from generator.naming import PROJECT_RE, RESERVED_FOLDERS, SSM_RESERVED_DOCUMENT_PREFIXES
from review import approvals as review_approvals
from review import drift as review_drift
from review import window as review_window

CONFIG_RELPATH = "pipelines/config.yaml"
SCHEMA_FILE = "pipelines-config.schema.json"

DEFAULT_BRANCH = "main"
# CodePipeline's own default for a manual approval: 7 days.
DEFAULT_APPROVAL_TIMEOUT_MINUTES = 10080
# The execution role changes whatever the stacks declare. PowerUserAccess covers everything
# but IAM and Organizations; stacks that create IAM roles need a policy added here.
DEFAULT_EXECUTION_POLICY_ARNS = ("arn:aws:iam::aws:policy/PowerUserAccess",)
# Transforms allowed unless pipelines/config.yaml says otherwise (transforms.allowed). A transform
# is a macro, and macros run when the Plan action creates the change set, before approval: "When
# you create a change set, CloudFormation generates a change set that includes the processed
# template content" (CloudFormation User Guide, "Transform section"); "After all macros in the
# template have been invoked, CloudFormation generates a change set" ("Overview of CloudFormation
# macros"). Only transforms hosted by CloudFormation itself, whose code is AWS's and whose whole
# expansion is in the change set the approver reviews, are allowed by default:
# - AWS::LanguageExtensions "updates any intrinsic function defined by the transform to its
#   resolved value within the template when you create or update a stack using a change set"
#   (Template Reference, "AWS::LanguageExtensions transform");
# - AWS::Serverless-2016-10-31 (SAM) "takes an entire template written in the AWS Serverless
#   Application Model (AWS SAM) syntax and transforms and expands it into a compliant
#   CloudFormation template" ("Perform custom processing on CloudFormation templates with template
#   macros"); the content its properties point to is checked by content_sources.
# AWS::Include is hosted by CloudFormation too, but it inserts a snippet fetched from S3 that is
# not in the repository: its Location is governed by content_sources, not by this list.
DEFAULT_ALLOWED_TRANSFORMS = ("AWS::LanguageExtensions", "AWS::Serverless-2016-10-31")
# When a change needs two approvals (review/approvals.py, which the pipeline's steps run):
# "risk", only when the review rates it high; "always", every change of the stack.
APPROVALS_ON_RISK = review_approvals.REQUIRE_ON_RISK
APPROVALS_ALWAYS = review_approvals.REQUIRE_ALWAYS
APPROVALS_CHOICES = review_approvals.REQUIREMENTS
DEFAULT_APPROVALS = APPROVALS_ON_RISK
# A deployment window's time zone when the owners give none: CodePipeline's DeploymentWindow rule
# takes "UTC" "by default" (CodePipeline user guide, rule-reference-DeploymentWindow).
DEFAULT_WINDOW_TIME_ZONE = "UTC"
# Drift detection before the approval (review/drift.py): on by default, for at most this long. The
# review waits for it (the approval request follows it), so keep it within minutes; the Lambda invoke
# action itself may run for 24 hours.
DEFAULT_DRIFT_TIMEOUT_SECONDS = review_drift.DEFAULT_TIMEOUT_SECONDS
MIN_DRIFT_TIMEOUT_SECONDS, MAX_DRIFT_TIMEOUT_SECONDS = 30, 3600
# A managed policy ARN: arn:<partition>:iam::<aws or account>:policy/<optional path/>name
# (IAM user guide, reference-arns: "arn:aws:iam::account:policy/policy-name-with-path").
MANAGED_POLICY_ARN = re.compile(
    r"\Aarn:aws(-cn|-us-gov)?:iam::(aws|\d{12}):policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}\Z", re.ASCII)


@dataclass(frozen=True)
class Repository:
    name: str
    branch: str = DEFAULT_BRANCH
    connection_arn: str | None = None  # None: the bootstrap stack creates a connection


@dataclass(frozen=True)
class Notifications:
    emails: tuple[str, ...] = ()
    topic_arn: str | None = None  # None: the bootstrap stack creates a topic


@dataclass(frozen=True)
class DeploymentWindow:
    """When a stack's approved change set may execute: CodePipeline's DeploymentWindow ``Cron`` and
    ``TimeZone``, read by review/window.py in the pipeline's WaitForWindow step."""

    cron: str
    time_zone: str = DEFAULT_WINDOW_TIME_ZONE


@dataclass(frozen=True)
class StackSettings:
    """How one stack's pipeline deploys it: the defaults with the stack's overrides applied."""

    capabilities: tuple[str, ...] = ()
    termination_protection: bool = True
    approval_timeout_minutes: int = DEFAULT_APPROVAL_TIMEOUT_MINUTES
    stack_policy: Path | None = None  # absolute path of a file under pipelines/
    disabled: bool = False
    stack_name: str | None = None  # an adopted stack's own name
    allowed_transforms: tuple[str, ...] = DEFAULT_ALLOWED_TRANSFORMS
    approvals: str = DEFAULT_APPROVALS  # APPROVALS_CHOICES
    deployment_window: DeploymentWindow | None = None  # None: executes as soon as approved
    # review.drift: detect the drift of the resources a change touches before the approval
    drift_detect: bool = True
    drift_timeout_seconds: int = DEFAULT_DRIFT_TIMEOUT_SECONDS
    # review.stateful_types: resource types the review treats as stateful besides its own list
    stateful_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class PipelinesConfig:
    path: Path
    project: str
    repository: Repository
    notifications: Notifications = Notifications()
    approvers: tuple[str, ...] = ()
    execution_policy_arns: tuple[str, ...] = DEFAULT_EXECUTION_POLICY_ARNS
    # The execution role may create and manage the stacks' own roles (named <project>-*, always with
    # changegate's permissions boundary): the stacks that need IAM get it without IAMFullAccess.
    manage_stack_roles: bool = False
    sync_compute: str = "lambda"
    defaults: StackSettings = StackSettings()
    overrides: Mapping[str, StackSettings] = field(default_factory=lambda: MappingProxyType({}))
    account_id: str | None = None  # the deploying account, when the owners wrote it down
    # content_sources.allowed: s3://bucket/prefix or ECR repositories stacks may deploy from
    content_sources: tuple[str, ...] = ()
    # custom_resources.allowed_service_tokens: ARNs or account ids
    allowed_service_tokens: tuple[str, ...] = ()
    # defaults.review.drift.read_policies: managed policies the steps function's role gets, so that
    # drift detection (which reads the resources with the caller's permissions) can read them
    drift_read_policies: tuple[str, ...] = ()
    # What validate reports beside the errors (check_overrides returns them): windows that can stay
    # closed longer than a Lambda action may wait
    warnings: tuple[Problem, ...] = ()

    def settings_for(self, folder: str) -> StackSettings:
        return self.overrides.get(folder, self.defaults)

    def deploying_account(self) -> str | None:
        """The account this configuration deploys to, as far as the file says.

        ``account_id`` when set; otherwise the one account every approver, topic and connection
        ARN names (validation refuses a file whose ARNs name several). None when nothing says.
        ``changegate deploy`` compares it with the caller's account before deploying.
        """
        if self.account_id:
            return self.account_id
        accounts = {account for _, _, account in _named_accounts(self)}
        return accounts.pop() if len(accounts) == 1 else None


@lru_cache(maxsize=1)
def config_schema() -> dict:
    text = resources.files("generator.contract").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def schema_path() -> Path:
    """Where the schema is installed, for the ``# yaml-language-server: $schema=`` line."""
    return Path(str(resources.files("generator.contract").joinpath("schemas", SCHEMA_FILE)))


def load_config(root: Path) -> PipelinesConfig:
    """Read, validate and load ``pipelines/config.yaml`` under ``root``.

    Raises ``ConfigError`` listing every problem found.
    """
    path = root / CONFIG_RELPATH
    if not path.is_file():
        raise ConfigError(
            f"{CONFIG_RELPATH}: not found under {root}\n"
            "    hint: run changegate from the repository root, pass --root, "
            "or copy the example pipelines/config.yaml from the changegate README")
    # fast decoder first; read again with line numbers only when there is something to report
    config, problems = _load(path, root, precise=False)
    if problems:
        config, problems = _load(path, root, precise=True)
    if problems:
        raise ConfigError(f"{CONFIG_RELPATH} is invalid:\n{render_all(problems)}", problems)
    return config


def _load(path: Path, root: Path, precise: bool) -> tuple[PipelinesConfig | None, list[Problem]]:
    document = read_document(path, root, precise=precise)
    problems = list(document.problems)
    if not problems and not isinstance(document.data, dict):
        problems.append(error(document.relpath, "config-type",
                              "the file must be a mapping of settings (project:, repository:, ...)"))
    if not problems:
        # JSON Schema only knows string keys; YAML also has `1:` and `true:` (and would crash sorting)
        problems.extend(_key_type_problems(document.data, document.relpath))
    if not problems:
        problems.extend(_schema_problems(document.data, document.relpath))
    if problems:
        return None, problems
    return _build(document.data, path, root)


def check_overrides(config: PipelinesConfig, stack_folders: Iterable[str]) -> list[Problem]:
    """Settings for a folder that does not exist: an error when enabled, a warning when disabled.

    An enabled entry for a missing folder is a typo waiting to bite, and raises ``ConfigError``.
    A disabled one is what the README's "disable the stack, then delete its folder" leaves
    behind: harmless (no pipeline either way), returned as a warning saying it can go.

    The configuration's own warnings (``config.warnings``: deployment windows that can stay closed
    longer than WaitForWindow may wait) come back with them.
    """
    known = set(stack_folders)
    relpath = CONFIG_RELPATH
    problems, warnings = [], []
    for name in sorted(config.overrides):
        if name in known:
            continue
        if config.overrides[name].disabled:
            warnings.append(warning(
                relpath, "config-stale-stack",
                f"stacks.{name} is disabled and names no folder under stacks/: nothing uses it",
                key=f"stacks.{name}",
                hint=f"remove stacks.{name} from {relpath}: the folder is gone and a disabled "
                     "stack has no pipeline"))
            continue
        problems.append(error(
            relpath, "config-unknown-stack", f"stacks.{name} names no folder under stacks/",
            key=f"stacks.{name}",
            hint=_did_you_mean(name, known) or
            f"remove stacks.{name}, or create stacks/{name}/; to retire a stack, set "
            f"stacks.{name}.disabled: true (then the folder may go)"))
    if problems:
        raise ConfigError(f"{relpath} is invalid:\n{render_all(problems)}", problems)
    return warnings + list(config.warnings)


def _key_type_problems(data: Any, relpath: str, path: tuple = ()) -> list[Problem]:
    problems = []
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                where = ".".join(map(str, path)) or "the top level"
                problems.append(error(relpath, "config-schema",
                                      f"key {key!r} in {where} is not a string ({type(key).__name__})",
                                      key=".".join(map(str, (*path, key))), line=line_of(data),
                                      hint=f"quote it: '{key}':"))
            else:
                problems.extend(_key_type_problems(value, relpath, (*path, key)))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            problems.extend(_key_type_problems(item, relpath, (*path, index)))
    return problems


def _schema_problems(data: Any, relpath: str) -> list[Problem]:
    schema = config_schema()
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        if err.validator == "additionalProperties":
            problems.extend(_unknown_key_problems(err, relpath))
            continue
        if "propertyNames" in err.schema_path:
            problems.append(error(relpath, "config-schema",
                                  f"stacks: the key {err.instance!r} is not a stack folder name",
                                  key="stacks", line=_line_at(data, err.absolute_path),
                                  hint="stack folder names are letters, digits and hyphens, "
                                       "starting with a letter (no spaces or line breaks)"))
            continue
        if list(err.absolute_path) == ["project"] and err.validator == "pattern":
            message, hint = _project_name_problem(str(err.instance))
            problems.append(error(relpath, "config-project-name", message, key="project",
                                  line=_line_at(data, ["project"]), hint=hint))
            continue
        path = [str(p) for p in err.absolute_path]
        key = ".".join(path) or None
        problems.append(error(relpath, "config-schema", _describe(err, schema),
                              key=key, line=_line_at(data, err.absolute_path),
                              hint=_hint(err)))
    return problems


def _project_name_problem(project: str) -> tuple[str, str]:
    """Why ``project`` is not a project name, and the fix, for the rule that fails first."""
    allowed = "lower-case letters and digits, starting with a letter, 2-20 characters"
    cleaned = "".join(c for c in project.lower() if c.isascii() and c.isalnum())
    suggestion = f" (for example {cleaned[:20]!r})" if PROJECT_RE.match(cleaned[:20]) else ""
    if project != project.rstrip("\n") or "\n" in project:
        return (f"project: {project!r} holds a line break",
                f"remove it: {allowed}; a quoted \"...\\n\" or a | block adds one")
    if "-" in project:
        first = project.split("-")[0] or "a"
        return (f"project: {project!r} holds a hyphen. Every policy changegate writes covers "
                f"'<project>-*': the policies of a project {first!r} ('{first}-*') would also "
                f"cover the stacks, pipelines and change sets of {project!r}",
                f"use {allowed}{suggestion}; the project name is part of every AWS name, so a "
                "deployed project that changes it gets new stacks: adopt the old ones with "
                "stacks.<name>.stack_name")
    return (f"project: {project!r} is not a valid project name",
            f"use {allowed}{suggestion}")


def _unknown_key_problems(err: jsonschema.ValidationError, relpath: str) -> list[Problem]:
    # one problem per unknown key, located at the key itself, each with its own suggestion
    allowed = sorted(err.schema.get("properties", {}))
    where = ".".join(str(p) for p in err.absolute_path) or "the top level"
    valid = f"; valid keys: {', '.join(allowed)}" if allowed else ""
    return [error(relpath, "config-schema", f"unknown key {unknown!r} in {where}{valid}",
                  key=".".join(str(p) for p in (*err.absolute_path, unknown)),
                  line=key_line(err.instance, unknown),
                  hint=_did_you_mean(unknown, allowed) or "remove the key")
            for unknown in sorted(set(err.instance) - set(allowed))]


def _describe(err: jsonschema.ValidationError, schema: dict) -> str:
    where = ".".join(str(p) for p in err.absolute_path) or "the top level"
    if err.validator == "required":
        return f"{where} is missing a required key: {err.message.split(' is a required')[0]}"
    if err.validator == "enum":
        choices = ", ".join(map(str, err.validator_value))
        return f"{where}: {err.instance!r} is not one of: {choices}"
    if err.validator == "type":
        return f"{where}: expected {err.validator_value}, got {_json_type(err.instance)} " \
               f"{err.instance!r}"
    if err.validator == "pattern":
        return f"{where}: {err.instance!r} is not valid"
    return f"{where}: {err.message}"


def _json_type(value: Any) -> str:
    # the decoder's node classes (str_node, dict_node) mean nothing to a user: name JSON types
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                       (dict, "object"), (list, "array"), (type(None), "null")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _hint(err: jsonschema.ValidationError) -> str | None:
    if err.validator == "required":
        # the parent's description says what the parent is; say what the missing key is
        missing = err.message.split("'")[1] if "'" in err.message else None
        described = err.schema.get("properties", {}).get(missing, {}).get("description")
        return f"add {missing}:" + (f" ({described})" if described else "")
    return err.schema.get("description") or None


def _did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def _line_at(data: Any, path: Iterable) -> int | None:
    node, line = data, line_of(data)
    for part in path:
        try:
            if isinstance(node, dict):
                line = key_line(node, part) or line
            node = node[part]
            line = line_of(node) or line
        except (KeyError, IndexError, TypeError):
            break
    return line


def _build(data: dict, path: Path, root: Path) -> tuple[PipelinesConfig, list[Problem]]:
    problems: list[Problem] = []
    relpath = path.relative_to(root).as_posix()
    repo = data["repository"]
    connection = repo.get("connection_arn", "create")
    notifications = data.get("notifications", {})
    allowed_transforms = data.get("transforms", {}).get("allowed", DEFAULT_ALLOWED_TRANSFORMS)
    defaults = _settings(data.get("defaults", {}),
                         StackSettings(allowed_transforms=tuple(map(str, allowed_transforms))))
    problems.extend(_project_problems(str(data["project"]), relpath, _line_at(data, ["project"])))
    problems.extend(_window_problems(data, ("defaults",), relpath))
    warnings = _window_warnings(data, ("defaults",), defaults, relpath)
    read_policies = tuple(str(a) for a in data.get("defaults", {}).get("review", {}).get("drift", {}).get(
        "read_policies", []))
    problems.extend(_read_policy_problems(data, read_policies, relpath))
    problems.extend(_stateful_types_problems(data, ("defaults",), relpath))
    overrides = {}
    for folder, raw in sorted(data.get("stacks", {}).items()):
        key = f"stacks.{folder}"
        if folder in RESERVED_FOLDERS:
            problems.append(error(relpath, "config-reserved-stack",
                                  f"{key}: '{folder}' is reserved by changegate", key=key,
                                  hint="rename the stack folder"))
        policy = None
        if "stack_policy" in raw:
            policy, problem = _stack_policy(root, raw["stack_policy"], relpath,
                                            f"{key}.stack_policy", line_of(raw))
            if problem:
                problems.append(problem)
        problems.extend(_window_problems(data, ("stacks", folder), relpath))
        problems.extend(_stateful_types_problems(data, ("stacks", folder), relpath))
        overrides[str(folder)] = _settings(raw, defaults, stack_policy=policy)
        if "deployment_window" in raw and not overrides[str(folder)].disabled:
            warnings.extend(_window_warnings(data, ("stacks", folder), overrides[str(folder)], relpath))
    config = PipelinesConfig(
        path=path,
        project=str(data["project"]),
        repository=Repository(name=str(repo["name"]),
                              branch=str(repo.get("branch", DEFAULT_BRANCH)),
                              connection_arn=None if connection == "create" else str(connection)),
        notifications=Notifications(
            emails=tuple(sorted(str(e) for e in notifications.get("emails", []))),
            topic_arn=notifications.get("topic_arn")),
        approvers=tuple(sorted(str(a) for a in data.get("approvers", []))),
        execution_policy_arns=tuple(
            str(a) for a in data.get("execution_role", {}).get(
                "managed_policy_arns", DEFAULT_EXECUTION_POLICY_ARNS)),
        manage_stack_roles=bool(data.get("execution_role", {}).get("manage_stack_roles", False)),
        sync_compute=str(data.get("sync", {}).get("compute", "lambda")),
        defaults=defaults,
        overrides=MappingProxyType(overrides),
        account_id=data.get("account_id"),
        content_sources=tuple(str(s) for s in data.get("content_sources", {}).get("allowed", [])),
        allowed_service_tokens=tuple(
            str(s) for s in data.get("custom_resources", {}).get("allowed_service_tokens", [])),
        drift_read_policies=read_policies,
        warnings=tuple(warnings),
    )
    problems.extend(_account_problems(config, data, relpath))
    return config, problems


def _project_problems(project: str, relpath: str, line: int | None) -> list[Problem]:
    # generate refuses these (generator/bootstrap/protection.py); validate must say so first
    if project.lower().startswith(SSM_RESERVED_DOCUMENT_PREFIXES):
        return [error(relpath, "config-project-name",
                      f"project: {project!r} starts with a prefix AWS reserves for its own SSM "
                      f"documents ({', '.join(SSM_RESERVED_DOCUMENT_PREFIXES)}), and changegate "
                      f"names one <project>-changegate-termination-protection",
                      key="project", line=line,
                      hint="choose a project name that does not start with aws, amazon or amzn")]
    return []


def _named_accounts(config: PipelinesConfig) -> list[tuple[str, str, str]]:
    """(key, ARN, account) of every ARN in the file that names an account of this deployment."""
    named = [(f"approvers[{i}]", arn, arn.split(":")[4]) for i, arn in enumerate(config.approvers)]
    if config.notifications.topic_arn:
        arn = config.notifications.topic_arn
        named.append(("notifications.topic_arn", arn, arn.split(":")[4]))
    if config.repository.connection_arn:
        arn = config.repository.connection_arn
        named.append(("repository.connection_arn", arn, arn.split(":")[4]))
    return named


def _account_problems(config: PipelinesConfig, data: dict, relpath: str) -> list[Problem]:
    """Every ARN names the deploying account (issue 9, item 4).

    The approvers policy is attached to principals by name (a managed policy's Roles, Users and
    Groups take names, not ARNs), so an approver ARN of another account would give approval rights
    to the principal of the same name in the deploying account. The deploying account is not
    known offline: it is ``account_id`` when the owners set it, else the account the ARNs agree on,
    and ``changegate deploy`` checks it against the credentials it deploys with.
    """
    named = _named_accounts(config)
    if config.account_id:
        expected, source = config.account_id, f"account_id ({config.account_id})"
    else:
        accounts = sorted({account for _, _, account in named})
        if len(accounts) < 2:
            return []
        # the approvers list is sorted by ARN; the account most ARNs name is the likely one
        counts = {a: sum(1 for _, _, b in named if b == a) for a in accounts}
        expected = max(accounts, key=lambda a: (counts[a], -accounts.index(a)))
        source = f"the account the other ARNs name ({expected})"
    problems = []
    for key, arn, account in named:
        if account == expected:
            continue
        problems.append(error(
            relpath, "config-foreign-account",
            f"{key}: {arn} is in account {account}, not in {source}, the account changegate "
            "deploys to" + (" and grants approval rights in: the approvers policy is attached by "
                            "name, so this entry would empower the same-named principal there"
                            if key.startswith("approvers") else ""),
            key=key, line=_line_at(data, [int(part) if part.isdigit() else part
                                          for part in key.replace("]", "").replace("[", ".").split(".")]),
            hint="name principals of the deploying account (people of another account assume a "
                 "role there); set account_id: to the deploying account so that changegate "
                 "deploy refuses other credentials"))
    return problems


def _settings(raw: Mapping, base: StackSettings, stack_policy: Path | None = None) -> StackSettings:
    return StackSettings(
        capabilities=tuple(raw.get("capabilities", base.capabilities)),
        termination_protection=bool(raw.get("termination_protection",
                                            base.termination_protection)),
        approval_timeout_minutes=int(raw.get("approval_timeout_minutes",
                                             base.approval_timeout_minutes)),
        stack_policy=stack_policy,
        disabled=bool(raw.get("disabled", False)),
        stack_name=raw.get("stack_name"),
        allowed_transforms=tuple(str(n) for n in raw["transforms"].get("allowed", ()))
        if "transforms" in raw and "allowed" in raw["transforms"] else base.allowed_transforms,
        approvals=str(raw.get("approvals", base.approvals)),
        deployment_window=_deployment_window(raw["deployment_window"])
        if "deployment_window" in raw else base.deployment_window,
        drift_detect=bool(raw.get("review", {}).get("drift", {}).get("detect", base.drift_detect)),
        drift_timeout_seconds=int(raw.get("review", {}).get("drift", {}).get(
            "timeout_seconds", base.drift_timeout_seconds)),
        stateful_types=tuple(str(t) for t in raw["review"]["stateful_types"])
        if "stateful_types" in raw.get("review", {}) else base.stateful_types,
    )


# review.stateful_types travel in the Review action's UserParameters, which CodePipeline caps at
# 1,000 characters; with the longest names the rest takes 463 (tests/generator/
# test_template_change_stage.py), so the list (as JSON) gets at most this many.
MAX_STATEFUL_TYPES_CHARS = 500


def _stateful_types_problems(data: Mapping, path: tuple[str, ...], relpath: str) -> list[Problem]:
    section = data
    for part in path:
        section = section.get(part, {}) if isinstance(section, Mapping) else {}
    names = (section.get("review", {}) if isinstance(section, Mapping) else {}).get("stateful_types")
    if not isinstance(names, list):
        return []  # absent, or the schema already says what is wrong
    size = len(json.dumps([str(n) for n in names], separators=(",", ":")))
    if size <= MAX_STATEFUL_TYPES_CHARS:
        return []
    key = ".".join((*path, "review", "stateful_types"))
    return [error(relpath, "config-stateful-types", f"{key}: {size} characters of type names, over "
                  f"{MAX_STATEFUL_TYPES_CHARS}: the Review action carries them in its parameters, "
                  "which CodePipeline caps at 1,000 characters", key=key,
                  line=_line_at(data, [*path, "review", "stateful_types"]),
                  hint="name fewer types here; a type every stack shares belongs under defaults")]


def _read_policy_problems(data: Mapping, arns: tuple[str, ...], relpath: str) -> list[Problem]:
    """Each read policy must be a managed policy's ARN: the steps role attaches it as it is."""
    problems = []
    for index, arn in enumerate(arns):
        if MANAGED_POLICY_ARN.match(arn):
            continue
        key = f"defaults.review.drift.read_policies[{index}]"
        problems.append(error(
            relpath, "config-drift-read-policy",
            f"{key}: {arn!r} is not a managed policy ARN", key=key,
            line=_line_at(data, ["defaults", "review", "drift", "read_policies", index]),
            hint="write arn:aws:iam::aws:policy/<name> for an AWS managed policy (e.g. "
                 "arn:aws:iam::aws:policy/ReadOnlyAccess) or arn:aws:iam::<account id>:policy/<name> for "
                 "your own; the steps function's role gets it so that drift detection can read the "
                 "stacks' resources (docs/pipeline.md, drift)"))
    return problems


def _window_warnings(data: Mapping, path: tuple[str, ...], settings: StackSettings,
                     relpath: str) -> list[Problem]:
    """A window that can stay closed longer than the WaitForWindow actions reach: a warning.

    One Lambda action waits at most 23 h 30 min, so the generator chains as many as cover the
    window's longest closed stretch, up to review/window.py MAX_WAIT_ACTIONS (a weekday window takes
    three). A window closed longer than all of them together is allowed, but a change approved as it
    closes fails at the last wait and runs only when someone retries.
    """
    window = settings.deployment_window
    if window is None or window_problems(window):
        return []
    spec = review_window.Window(window.cron, window.time_zone)
    gap = review_window.reference_gap(spec)
    reach = review_window.WAIT_PER_ACTION * review_window.MAX_WAIT_ACTIONS
    if gap is None or (gap.length is not None and gap.length <= reach):
        return []
    key = ".".join((*path, "deployment_window"))
    zone = review_window.zone(window.time_zone)
    if gap.opens is None:
        closed = "can stay closed a year or more (it does not open again within a year of closing)"
    else:
        closed = (f"can stay closed {gap.length.total_seconds() / 3600:g} hours "
                  f"({gap.closes.astimezone(zone):%a %H:%M} to {gap.opens.astimezone(zone):%a %H:%M})")
    hours = reach.total_seconds() / 3600
    return [warning(
        relpath, "config-window-gap",
        f"{key}: {window.cron!r} ({window.time_zone}) {closed}: longer than the "
        f"{review_window.MAX_WAIT_ACTIONS} WaitForWindow actions wait together ({hours:g} hours), so a "
        "change approved then fails unexecuted and runs only when someone retries the Change stage's "
        "failed actions",
        key=key, line=_line_at(data, [*path, "deployment_window"]),
        hint="CodePipeline ends a Lambda action after 24 hours; the failure says when the window next "
             "opens. Accept that, or let the window open at least once a week")]


def _deployment_window(raw: Mapping | None) -> DeploymentWindow | None:
    # null in a stack's settings: no window for this stack, whatever the defaults say
    if raw is None:
        return None
    return DeploymentWindow(cron=" ".join(str(raw["cron"]).split()),
                            time_zone=str(raw.get("time_zone", DEFAULT_WINDOW_TIME_ZONE)))


# Each cron field alone, the others "any": review/window.py's inside() reads its fields lazily
# (a minute that does not match leaves the hours unread), so one call with the owner's whole
# expression could miss a bad field. With every other field * (or ? for the other day field),
# each field of the owner's expression is read whatever the moment.
_ANY = ("*", "*", "*", "?", "*", "?", "*")


def window_problems(window: DeploymentWindow) -> dict[str, str]:
    """Why the WaitForWindow step could not read ``window``: {"cron" or "time_zone": reason}.

    Uses the step's own parser (review/window.py, standard library only), so validate refuses
    exactly the cron expressions and time zones the pipeline would fail on after the approvals.
    """
    probe = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    found = {}
    fields = window.cron.split()
    try:
        review_window.inside(review_window.Window(window.cron, DEFAULT_WINDOW_TIME_ZONE), probe)
        for index, value in enumerate(fields[1:], start=1):
            alone = list(_ANY[:len(fields)])
            alone[index] = value
            review_window.inside(review_window.Window(" ".join(alone), DEFAULT_WINDOW_TIME_ZONE), probe)
    except review_window.WindowError as exc:
        # the parser names the expression first; the problem's key and value already do
        found["cron"] = str(exc).removeprefix(f"cron {window.cron!r}: ")
    try:
        review_window.inside(review_window.Window("* * * ? * ?", window.time_zone), probe)
    except review_window.WindowError as exc:
        found["time_zone"] = str(exc).removeprefix(f"time zone {window.time_zone!r}: ")
    return found


_WINDOW_HINTS = {
    "cron": "write CodePipeline's DeploymentWindow fields 'seconds minutes hours day-of-month month "
            "day-of-week [year]' with seconds *, e.g. '* * 9-16 ? * MON-FRI' (09:00-16:59, Monday to "
            "Friday); numbers, ranges a-b, steps a/n, lists a,b, JAN-DEC and SUN-SAT (L, W and # are "
            "not supported)",
    "time_zone": "write a Region/City name such as Europe/Berlin or America/New_York, or "
                 "UTC+HH:MM / UTC-HH:MM (the default is UTC)",
}


def _window_problems(data: Mapping, path: tuple[str, ...], relpath: str) -> list[Problem]:
    raw = data
    for part in path:
        raw = raw.get(part) or {}
    if not isinstance(raw, Mapping) or not raw.get("deployment_window"):
        return []
    window = _deployment_window(raw["deployment_window"])
    key = ".".join((*path, "deployment_window"))
    problems = []
    for which, reason in window_problems(window).items():
        value = window.cron if which == "cron" else window.time_zone
        problems.append(error(relpath, "config-deployment-window",
                              f"{key}.{which}: {value!r} cannot be read: {reason}",
                              key=f"{key}.{which}",
                              line=_line_at(data, [*path, "deployment_window", which]),
                              hint=_WINDOW_HINTS[which]))
    return problems


def _stack_policy(root: Path, value: str, relpath: str, key: str,
                  line: int | None) -> tuple[Path | None, Problem | None]:
    pipelines_dir = (root / "pipelines").resolve()
    policy = (pipelines_dir / value).resolve()
    if not policy.is_relative_to(pipelines_dir):
        return None, error(relpath, "config-stack-policy", f"{key}: {value!r} is outside pipelines/",
                           key=key, line=line,
                           hint="stack policies are protected settings: keep them under pipelines/")
    if not policy.is_file():
        return None, error(relpath, "config-stack-policy", f"{key}: pipelines/{value} does not exist",
                           key=key, line=line, hint="create the policy file or fix the path")
    try:
        document = json.loads(policy.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, error(relpath, "config-stack-policy",
                           f"{key}: pipelines/{value} is not valid JSON ({exc})", key=key, line=line,
                           hint="a stack policy is a JSON document with a Statement list")
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), list):
        return None, error(relpath, "config-stack-policy",
                           f"{key}: pipelines/{value} has no Statement list", key=key, line=line,
                           hint="see 'Prevent updates to stack resources' in the CloudFormation guide")
    return policy, None
