"""Run a preview: find what changed between two sides, load it, and judge it.

Cost is O(changed): Git names the changed stack folders, only those (and ``pipelines/``) are
read, and other stacks are opened only when an export one of them might import is removed
(found with ``git grep``, not by reading every template).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.contract.discovery import STACKS_DIR
from generator.contract.stacks import LoadedStack
from preview.compare import Comparer, Outcome
from preview.gitrepo import GitRepository
from preview.model import Preview, ResourceChange, StackPreview
from preview.resolve import ResolvedResource, Resolver, freeze, imports_in
from preview.resources import diff_resources
from preview.risk import data_at_risk, permission_broadening
from preview.sides import Side, load_side, materialize

WORKING_TREE = "working tree"


def run_preview(root: Path, base_ref: str, head_ref: str | None = None,
                region: str = "us-east-1") -> Preview:
    repo = GitRepository(root)
    base = repo.resolve(base_ref)
    head = repo.resolve(head_ref) if head_ref is not None else None
    changed = repo.changed_paths(base, head, (STACKS_DIR, "pipelines"))
    folders = sorted({p.split("/")[1] for p in changed
                      if p.startswith(f"{STACKS_DIR}/") and p.count("/") >= 2})
    preview = Preview(base=base, head=head or WORKING_TREE)
    with tempfile.TemporaryDirectory(prefix="changegate-preview-") as scratch:
        sides = []
        for label, commit in (("base", base), ("head", head)):
            target = Path(scratch) / label
            materialize(repo, commit, folders, target)
            sides.append(load_side(label, commit, target))
        old, new = sides
        if new.config_error:
            preview.errors.append(new.config_error)
        preview.pipeline_settings = _config_changes(old.config_data, new.config_data)
        extra = _settings_only_stacks(old, new, folders)
        if extra:  # an override or a stack policy changed for a stack whose folder did not
            for label, side, commit in (("base-extra", old, base), ("head-extra", new, head)):
                target = Path(scratch) / label
                materialize(repo, commit, extra, target)
                loaded = load_side(label, commit, target)
                side.stacks.update(loaded.stacks)
                side.present |= loaded.present
                side.stack_policies.update(loaded.stack_policies)
        stacks = {}
        for folder in folders + extra:
            stack = _stack_preview(folder, old, new, region, settings_only=folder in extra)
            if stack is not None:
                preview.stacks[folder] = stack[0]
                stacks[folder] = stack
        _cross_stack(preview, stacks, repo, head, Path(scratch), region)
    return preview


# -- one stack ------------------------------------------------------------------------
def _stack_preview(folder: str, old: Side, new: Side, region: str, settings_only: bool):
    in_old, in_new = folder in old.present, folder in new.present
    if not in_old and not in_new:
        return None
    before, after = old.stacks.get(folder), new.stacks.get(folder)
    status = "changed" if in_old and in_new else ("added" if in_new else "removed")
    stack_name = (after or before).stack_name if (after or before) else folder
    stack = StackPreview(folder=folder, stack_name=stack_name, status=status)
    for problem in new.problems.get(folder, []):
        if problem.is_error:
            stack.errors.append(problem.render())
    if in_new and after is None and not stack.errors:
        stack.errors.append(f"stacks/{folder}: cannot be loaded ({new.config_error or 'see validate'})")
    if status == "removed":
        stack.notes.append(_removal_note(stack_name, old, folder))
        resolved_old = _resolve(before) if before else None
        return stack, resolved_old, None, {}
    resolved_old = _resolve(before) if before is not None else None
    resolved_new = _resolve(after) if after is not None else None
    old_resources = resolved_old[1] if resolved_old else {}
    new_resources = resolved_new[1] if resolved_new else {}
    if in_old and before is None and after is not None:
        stack.notes.append("the base version of this stack could not be loaded: every "
                           "resource is shown as added")
    if after is not None and after.template.get("Transform"):
        stack.notes.append(f"the template uses transforms ({_show(after.template['Transform'])}):"
                           " the preview compares it before expansion, so resources a "
                           "transform generates are not shown; the change set will show them")
    if after is not None and not settings_only:
        stack.resources = diff_resources(old_resources, new_resources, region)
        stack.data_at_risk = data_at_risk(stack.resources, old_resources, new_resources)
        stack.permission_broadening = permission_broadening(stack.resources, old_resources,
                                                            new_resources)
        stack.notes.extend(_renames(stack.resources, old_resources, new_resources))
        stack.notes.extend(_policy_notes(old_resources, new_resources))
        stack.notes.extend(_output_notes(resolved_old, resolved_new))
    stack.parameters = _parameter_changes(resolved_old, resolved_new)
    if before is not None and after is not None:
        stack.tags = _dict_changes(before.configuration.tags, after.configuration.tags)
    elif after is not None:
        stack.tags = _dict_changes({}, after.configuration.tags)
    stack.settings = _settings_changes(folder, old, new, before, after)
    if settings_only and not stack.settings and not stack.parameters:
        return None
    return stack, resolved_old, resolved_new, stack.resources


def _resolve(loaded: LoadedStack):
    resolver = Resolver(loaded.template, loaded.configuration.parameters, loaded.stack_name)
    return resolver, resolver.all_resources()


def _parameter_changes(old, new) -> dict[str, tuple[Any, Any]]:
    before = old[0].parameters if old else {}
    after = new[0].parameters if new else {}
    return {name: (_show(before.get(name)), _show(after.get(name)))
            for name in sorted(before.keys() | after.keys())
            if freeze(before.get(name)) != freeze(after.get(name))}


def _show(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(map(str, value))
    return repr(value)


def _dict_changes(before: Mapping, after: Mapping) -> dict[str, tuple[Any, Any]]:
    return {key: (before.get(key), after.get(key)) for key in sorted(before.keys() | after.keys())
            if before.get(key) != after.get(key)}


def _settings_changes(folder: str, old: Side, new: Side, before, after) -> dict:
    def settings(side: Side, loaded) -> dict[str, Any]:
        if side.config is None:
            return {}
        value = side.config.settings_for(folder)
        return {"capabilities": list(value.capabilities),
                "termination_protection": value.termination_protection,
                "approval_timeout_minutes": value.approval_timeout_minutes,
                "disabled": value.disabled,
                "stack_name": loaded.stack_name if loaded else value.stack_name,
                "stack_policy": side.stack_policies.get(folder)}
    return _dict_changes(settings(old, before), settings(new, after))


def _settings_only_stacks(old: Side, new: Side, folders: list[str]) -> list[str]:
    names: set[str] = set()
    for side in (old, new):
        if side.config is not None:
            names |= set(side.config.overrides)
    if old.config and new.config and old.config.defaults != new.config.defaults:
        pass  # reported once, as a pipeline setting, not as a change to every stack
    return sorted(name for name in names - set(folders)
                  if old.config is None or new.config is None
                  or old.config.settings_for(name) != new.config.settings_for(name)
                  or _policy_file_changed(old, new, name))


def _policy_file_changed(old: Side, new: Side, name: str) -> bool:
    paths = []
    for side in (old, new):
        policy = side.config.settings_for(name).stack_policy if side.config else None
        paths.append(policy.read_text("utf-8") if policy is not None and policy.is_file()
                     else None)
    return paths[0] != paths[1]


def _config_changes(before: Any, after: Any, path: str = "") -> dict[str, tuple[Any, Any]]:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        found: dict[str, tuple[Any, Any]] = {}
        for key in sorted(set(map(str, before)) | set(map(str, after))):
            found.update(_config_changes(before.get(key), after.get(key),
                                         f"{path}.{key}" if path else key))
        return found
    plain_before, plain_after = _plain(before), _plain(after)
    return {} if plain_before == plain_after else {path or "(file)": (plain_before, plain_after)}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def _removal_note(stack_name: str, old: Side, folder: str) -> str:
    return (f"the folder stacks/{folder} is removed, but the stack {stack_name} stays in AWS "
            "with all its resources: changegate only stops managing it. To delete it: "
            "regenerate and deploy the bootstrap stack (changegate generate; changegate deploy), "
            "then turn termination protection off (aws cloudformation "
            f"update-termination-protection --no-enable-termination-protection --stack-name "
            f"{stack_name}) and delete it (aws cloudformation delete-stack --stack-name "
            f"{stack_name}); its exports must no longer be imported")


def _renames(changes: dict[str, ResourceChange], old: dict[str, ResolvedResource],
             new: dict[str, ResolvedResource]) -> list[str]:
    from preview.compare import canonical
    removed = {lid: canonical(old[lid].properties) for lid, c in changes.items()
               if c.action == "Remove"}
    notes = []
    for lid, change in changes.items():
        if change.action != "Add":
            continue
        body = canonical(new[lid].properties)
        for old_id, old_body in removed.items():
            if old_body == body and old[old_id].type == new[lid].type:
                notes.append(f"{old_id} -> {lid} looks like a renamed logical id: CloudFormation "
                             f"creates a new {new[lid].type} and deletes the old one; keep the "
                             "old id, or move it with a stack refactor (CreateStackRefactor)")
    return notes


def _policy_notes(old: dict[str, ResolvedResource], new: dict[str, ResolvedResource]) -> list:
    notes = []
    for lid in sorted(old.keys() & new.keys()):
        for attribute in ("deletion_policy", "update_replace_policy"):
            before, after = getattr(old[lid], attribute), getattr(new[lid], attribute)
            if before != after:
                name = "DeletionPolicy" if attribute == "deletion_policy" else \
                    "UpdateReplacePolicy"
                notes.append(f"{lid}: {name} {before or '(default)'} -> {after or '(default)'}")
    return notes


def _output_notes(old, new) -> list[str]:
    before = old[0].template.get("Outputs") or {} if old else {}
    after = new[0].template.get("Outputs") or {} if new else {}
    notes = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            notes.append(f"output {name} is removed")
        elif name not in before:
            notes.append(f"output {name} is added")
        elif before[name] != after[name]:
            notes.append(f"output {name} changes")
    exports_before = old[0].exports() if old else {}
    exports_after = new[0].exports() if new else {}
    notes.extend(f"export {_name(n)} is removed" for n in exports_before if n not in exports_after)
    notes.extend(f"export {_name(n)} is added" for n in exports_after if n not in exports_before)
    return notes


# -- across stacks --------------------------------------------------------------------
def _cross_stack(preview: Preview, stacks: dict, repo: GitRepository, head: str | None,
                 scratch: Path, region: str) -> None:
    exports_before: dict[Any, str] = {}
    exports_after: dict[Any, str] = {}
    imports_after: dict[str, set] = {}
    for folder, (_stack, resolved_old, resolved_new, _changes) in stacks.items():
        if resolved_old:
            for name in resolved_old[0].exports():
                exports_before.setdefault(name, folder)
        if resolved_new:
            for name in resolved_new[0].exports():
                exports_after.setdefault(name, folder)
            imports_after[folder] = _imports(resolved_new)
    # exports a changed stack stops exporting (a removed folder's stack keeps its exports)
    gone = {name: folder for name, folder in exports_before.items()
            if name not in exports_after and stacks[folder][0].status == "changed"}
    changed_values = _changed_export_values(stacks)
    suspect = {**gone, **changed_values}
    if suspect:
        importers, importer_names = _find_importers(repo, head, scratch, set(suspect), stacks)
        for name, exporter in sorted(suspect.items(), key=lambda item: str(item[0])):
            users = sorted(f for f, names in {**importers, **imports_after}.items()
                           if name in names and f != exporter)
            what = "removed or renamed" if name in gone else "given a new value"
            for user in users:
                preview.errors.append(
                    f"export {_name(name)} of stack {stacks[exporter][0].stack_name} "
                    f"({exporter}) is {what}, but stack "
                    f"{importer_names.get(user) or _stack_name(user, stacks)} ({user}) "
                    "imports it: CloudFormation refuses to change an export another stack "
                    f"imports. Remove the import from stacks/{user} first, deploy it, then "
                    "change the export")
    added = {name: folder for name, folder in exports_after.items() if name not in exports_before}
    for user, names in sorted(imports_after.items()):
        for name in sorted(names & added.keys(), key=str):
            exporter = added[name]
            if exporter != user:
                preview.order.append(
                    f"{exporter} before {user}: {user} imports {_name(name)}, a new export of "
                    f"{exporter}; merge or approve {exporter}'s change first (its pipeline "
                    f"must finish before {user}'s change set can be created)")
    for folder, (stack, *_rest) in stacks.items():
        if stack.status == "removed":
            preview.notes.append(f"{folder}: {stack.notes[0]}")


def _imports(resolved) -> set:
    resolver, resources = resolved
    found: set = set()
    for resource in resources.values():
        imports_in(resource.properties, found)
    for output in (resolver.template.get("Outputs") or {}).values():
        if isinstance(output, Mapping):
            imports_in(resolver.value(output.get("Value")), found)
    return found


def _changed_export_values(stacks: dict) -> dict[Any, str]:
    """Exports whose value this change alters (a Ref to a replaced resource, say)."""
    found = {}
    for folder, (stack, resolved_old, resolved_new, changes) in stacks.items():
        if not (resolved_old and resolved_new) or stack.status != "changed":
            continue

        def replacement(lid: str, changes=changes) -> str | None:
            change = changes.get(lid)
            if change is None:
                return None
            return change.replacement if change.action == "Modify" else "True"

        comparer = Comparer(replacement, lambda lid, attr: Outcome.SAME)
        old_outputs = resolved_old[0].template.get("Outputs") or {}
        new_outputs = resolved_new[0].template.get("Outputs") or {}
        new_exports = resolved_new[0].exports()
        for name, output_id in resolved_old[0].exports().items():
            if name not in new_exports:
                continue
            before = resolved_old[0].value(old_outputs[output_id].get("Value"))
            after = resolved_new[0].value(new_outputs[new_exports[name]].get("Value"))
            if comparer.compare(before, after) is Outcome.CHANGED:
                found[name] = folder
    return found


def _find_importers(repo: GitRepository, head: str | None, scratch: Path, names: set,
                    stacks: dict) -> tuple[dict[str, set], dict[str, str]]:
    """Stacks outside the change that import any of ``names``, found by ``git grep``."""
    wanted = {name: _words(name) or ["ImportValue"] for name in names}
    hits = repo.grep_words(head, sorted({w for words in wanted.values() for w in words}),
                           f"{STACKS_DIR}/")
    by_folder: dict[str, set[str]] = {}
    for path, words in hits.items():
        parts = path.split("/")
        if len(parts) >= 3 and parts[1] not in stacks:
            by_folder.setdefault(parts[1], set()).update(words)
    # a folder can import a name only if every word of it is written somewhere in the folder
    # (template or config); a name assembled from pieces written nowhere would be missed
    candidates = {folder for folder, words in by_folder.items()
                  if any(set(required) <= words for required in wanted.values())}
    if not candidates:
        return {}, {}
    target = scratch / "importers"
    materialize(repo, head, sorted(candidates), target)
    side = load_side("importers", head, target)
    return ({folder: _imports(_resolve(loaded)) for folder, loaded in side.stacks.items()},
            {folder: loaded.stack_name for folder, loaded in side.stacks.items()})


def _words(name: Any) -> list[str]:
    """The literal words of an export name, to find its importers with ``git grep``."""
    if not isinstance(name, str):
        return []
    return sorted(set(re.findall(r"[A-Za-z0-9_]{3,}", name)))


def _name(name: Any) -> str:
    return name if isinstance(name, str) else repr(name)


def _stack_name(folder: str, stacks: dict) -> str:
    return stacks[folder][0].stack_name if folder in stacks else folder


def compare_templates(old: Mapping, new: Mapping, old_parameters: Mapping[str, str] | None = None,
                      new_parameters: Mapping[str, str] | None = None,
                      stack_name: str = "preview", region: str = "us-east-1"
                      ) -> dict[str, ResourceChange]:
    """The predicted resource changes between two decoded templates (no Git, no files)."""
    before = Resolver(old, old_parameters or {}, stack_name).all_resources()
    after = Resolver(new, new_parameters or {}, stack_name).all_resources()
    return diff_resources(before, after, region)
