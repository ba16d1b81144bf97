"""One judge per question of ../shared/notes/aws-fidelity.md section 2: observations in, a Result out.

Each function names the question (Q1..Q12) and the finding it settles (F5, F6, ...). They are
pure: ``run.py`` gathers the observations from AWS in one timeline (the questions share one
deployment and one stack's executions), these decide. ``expected`` is what changegate's code
assumes; where AWS answers otherwise the outcome is "fail".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from cglive.report import ERROR, MANUAL, Result, judged
from generator import naming
from generator.bootstrap import pipeline as generated_pipeline

# The approval text limit the code designs for (naming.PIPELINE_VARIABLE_MAX_LENGTHS keeps it).
MAX_CUSTOM_DATA = getattr(naming, "MAX_CUSTOM_DATA", None) or generated_pipeline.MAX_CUSTOM_DATA
CONSOLE_HOSTS = {"aws": "console.aws.amazon.com", "aws-cn": "console.amazonaws.cn",
                 "aws-us-gov": "console.amazonaws-us-gov.com"}


def error(id: str, finding: str, question: str, expected: str, exc: BaseException | str) -> Result:
    """The probe could not get an answer (a refused call, a timeout): not a pass, not AWS's answer."""
    return Result(id, finding, question, expected, f"no answer: {exc}", ERROR)


Q1 = ("Q1", "F5", "An execution whose change set is empty (same S3 version started twice): does it ask "
      "for approval?")
Q1_EXPECTED = ("the execution ends without an approval request: its Approve action never waits "
               "(decision 6, README 'starts are at least once')")


def q1_empty_change_set(*, approval_waited: bool, execution_status: str, plan_status: str | None,
                        plan_summary: str = "") -> Result:
    observed = (f"CreateChangeSet {plan_status or 'not run'}"
                + (f" ({plan_summary})" if plan_summary else "")
                + f"; Approve {'WAITED for a decision' if approval_waited else 'never waited'}; "
                f"execution {execution_status}")
    return judged(*Q1, Q1_EXPECTED, observed, not approval_waited and execution_status != "InProgress")


Q2 = ("Q2", "F6", "After a change set executes in CHANGE_SET_REPLACE/EXECUTE mode, does GetStackPolicy "
      "return the owners' policy from pipelines/?")
Q2_EXPECTED = "GetStackPolicy returns exactly pipelines/policies/app.json, right after the stack is created"


def q2_stack_policy(*, observed_policy: Mapping[str, Any] | None,
                    expected_policy: Mapping[str, Any]) -> Result:
    observed = "no stack policy" if observed_policy is None else json.dumps(observed_policy, sort_keys=True)
    return judged(*Q2, Q2_EXPECTED, observed, observed_policy == expected_policy)


Q3 = ("Q3", "F18", "Does each service send aws:SourceAccount when it assumes its role (the generated "
      "trust policies require it)?")
Q3_EXPECTED = ("codepipeline, cloudformation, codebuild, events and ssm all assume their roles with the "
               "aws:SourceAccount condition in place")


def q3_source_account(evidence: Mapping[str, tuple[bool | None, str]]) -> Result:
    """``evidence``: service -> (assumed its role?, what showed it); None when not observed."""
    observed = "; ".join(f"{service}: {'yes' if ok else 'NO' if ok is False else 'not observed'} ({what})"
                         for service, (ok, what) in sorted(evidence.items()))
    if any(ok is None for ok, _ in evidence.values()) and all(ok is not False for ok, _ in evidence.values()):
        return Result(*Q3, Q3_EXPECTED, observed, ERROR)
    return judged(*Q3, Q3_EXPECTED, observed, all(ok for ok, _ in evidence.values()))


Q4 = ("Q4", "F1, F2", "In CodeBuild's Lambda image: the global pip configuration, /dev/shm, the CPU "
      "count; does buildspecs/sync.yml give a working changegate that syncs two changed stacks?")
Q4_EXPECTED = ("the sync build succeeds as generated: the buildspec installs changegate despite "
               "/etc/pip.conf (F1) and linting two stacks survives a missing /dev/shm (F2)")


def q4_lambda_image(*, facts: Mapping[str, Any] | None, sync_status: str | None,
                    sync_failure: str = "") -> Result:
    if facts is None and sync_status is None:
        return error(*Q4, Q4_EXPECTED, "neither the facts build nor the sync build ran")
    pip_conf = (facts or {}).get("etc_pip_conf")
    target = [line.strip() for line in (pip_conf or "").splitlines() if line.strip().startswith("target")]
    pip_text = f"has {target[0]}" if target else "absent" if pip_conf is None else "has no target"
    observed = (f"/etc/pip.conf {pip_text}; "
                f"/dev/shm {'present' if (facts or {}).get('dev_shm') else 'absent'}; "
                f"nproc {(facts or {}).get('nproc', '?')}; multiprocessing.Lock(): "
                f"{(facts or {}).get('multiprocessing_lock', '?')}; sync build {sync_status or 'not run'}"
                + (f": {sync_failure}" if sync_failure else ""))
    return judged(*Q4, Q4_EXPECTED, observed, sync_status == "SUCCEEDED",
                  details="Raw facts:\n\n```json\n" + json.dumps(facts, indent=2, sort_keys=True) + "\n```")


Q5 = ("Q5", "F2 (git)", "On Lambda compute, is the checkout a git work tree the build user may use "
      "(no 'dubious ownership'), with full history?")
Q5_EXPECTED = ("git works in $CODEBUILD_SRC_DIR (sync/git.py's rollback check depends on it) and the "
               "history is not shallow")
CLONE_REF_STEPS = ("The CODEBUILD_CLONE_REF full clone needs the GitHub connection (Q9): after the "
                   "handshake, in the sync build's log, `changegate sync` must not say that git is "
                   "unavailable or the clone shallow.")


def q5_git_on_lambda(facts: Mapping[str, Any] | None) -> Result:
    if not facts:
        return error(*Q5, Q5_EXPECTED, "the facts build did not report")
    inside = facts.get("git_inside_work_tree") or {}
    shallow = facts.get("git_shallow") or {}
    observed = (f"build uid {facts.get('uid')}, source dir uid {facts.get('src_dir_uid')}; "
                f"rev-parse --is-inside-work-tree: {inside.get('out') or inside.get('err')}; "
                f"--is-shallow-repository: {shallow.get('out') or shallow.get('err')}")
    ok = inside.get("rc") == 0 and inside.get("out") == "true" and shallow.get("out") == "false"
    return judged(*Q5, Q5_EXPECTED, observed, ok, details=CLONE_REF_STEPS)


Q6 = ("Q6", "F19", "With the sync role's prefix-conditioned s3:ListBucket, does S3 answer 403 or 404 for the "
      "absent state manifest, and does the sync treat it as absent?")
Q6_EXPECTED = "sync.state.read_manifest reports 'no manifest' (it accepts 404/NoSuchKey) and does not raise"


def q6_absent_manifest(*, raw_code: str, read_manifest_error: str | None) -> Result:
    observed = f"GetObject as the sync role: {raw_code}; read_manifest: " + (
        f"raised {read_manifest_error}" if read_manifest_error else "no manifest, no error")
    return judged(*Q6, Q6_EXPECTED, observed, read_manifest_error is None)


Q7 = ("Q7", "F15", "Does the approval's CustomData stay within the limit once the longest commit variables "
      "the sync sets are resolved, and does Approve still start?")
Q7_EXPECTED = (f"Approve waits for a decision and its resolved CustomData is at most {MAX_CUSTOM_DATA} "
               "characters, every variable replaced")


def q7_approval_text(*, approve_status: str | None, resolved_custom_data: str | None,
                     error_details: str = "") -> Result:
    text = resolved_custom_data or ""
    observed = (f"Approve {approve_status or 'never started'}"
                + (f" ({error_details})" if error_details else "")
                + f"; resolved CustomData {len(text)} characters"
                + ("; unresolved #{...} left" if "#{" in text else ""))
    ok = approve_status in ("InProgress", "Succeeded") and bool(text) and len(text) <= MAX_CUSTOM_DATA \
        and "#{" not in text
    return judged(*Q7, Q7_EXPECTED, observed, ok, details=f"Resolved CustomData:\n\n    {text}")


Q8 = ("Q8", "F16", "Does the approval's change-set link open the change set in the console?")
Q8_EXPECTED = ("the resolved ExternalEntityLink is on the partition's console host and names the stack and "
               "the change set this execution created (by name or ARN)")


def q8_console_link(*, url: str | None, partition: str, stack_name: str, stack_id: str,
                    change_set_name: str, change_set_id: str) -> Result:
    if not url:
        return error(*Q8, Q8_EXPECTED, "no resolved ExternalEntityLink")
    decoded = unquote(unquote(url))
    host = urlsplit(url).hostname or ""
    host_ok = host == CONSOLE_HOSTS[partition] or host.endswith("." + CONSOLE_HOSTS[partition])
    names_stack = stack_id in decoded or f"stackId={stack_name}" in decoded or stack_name in decoded
    names_change_set = change_set_id in decoded or change_set_name in decoded
    observed = (f"host {host} ({'right' if host_ok else 'WRONG'} for {partition}); names the stack: "
                f"{names_stack}; names the change set: {names_change_set}")
    ok = host_ok and names_stack and names_change_set and "#{" not in url
    return judged(*Q8, Q8_EXPECTED, observed, ok,
                  details=f"Open this link once, signed in to the sandbox account, and check that the "
                          f"change set page shows {change_set_name}:\n\n    {url}")


Q9 = ("Q9", "F11 (connection)", "Once the connection's handshake is done after the deploy (it is created "
      "PENDING), does a push to the branch start the sync pipeline?")
Q9_EXPECTED = "a push to the configured branch starts <project>-sync without a manual 'Release change'"


def q9_connection_manual(*, project: str, region: str) -> Result:
    pipeline = naming.sync_pipeline_name(project)
    steps = "\n".join([
        "Needs a person and a GitHub repository; run it with CHANGEGATE_LIVE_PROJECT set to a project kept "
        "for the purpose, or on a real deployment:",
        f"1. Deploy (`changegate deploy`), then in the console (Developer Tools > Settings > Connections, "
        f"{region}) finish the handshake of {naming.connection_name(project)}; it turns AVAILABLE.",
        "2. Push a commit that changes one stack to the configured branch.",
        f"3. `aws codepipeline list-pipeline-executions --pipeline-name {pipeline} --max-items 1`: the "
        "newest execution's trigger must be the push (triggerType 'WebhookV2' or "
        "'CodeStarSourceConnection'), with no 'Release change'.",
        "4. In that build's log: `changegate sync` names the commit and does not report a shallow clone or "
        "git as unavailable (Q5's CODEBUILD_CLONE_REF half).",
        "Pass when the push started it; fail if only a manual release or a redeploy did.",
    ])
    return Result(*Q9, Q9_EXPECTED, "not automated: needs the GitHub handshake", MANUAL, steps)


Q10 = ("Q10", "F10, F21", "Does a stack template larger than 51,200 bytes pass through the KMS-encrypted "
       "artifact bucket to CreateChangeSet?")
Q10_EXPECTED = "CreateChangeSet succeeds for the padded template (CodePipeline passes it by S3, readable)"


def q10_big_template(*, template_bytes: int, plan_status: str | None, error_details: str = "") -> Result:
    observed = (f"template {template_bytes} bytes; CreateChangeSet {plan_status or 'never ran'}"
                + (f": {error_details}" if error_details else ""))
    return judged(*Q10, Q10_EXPECTED, observed, plan_status == "Succeeded")


Q11 = ("Q11", "F4", "Two queued executions of one stack: does the second keep its change set until it is "
       "approved and executed?")
Q11_EXPECTED = ("the second execution plans only after the first executed; its change set exists when its "
                "approval is requested; it executes")


def q11_queued_executions(*, planned_while_first_waited: bool, change_set_at_approval: bool,
                          second_status: str) -> Result:
    observed = (f"second planned while the first waited: {planned_while_first_waited}; its change set "
                f"existed at its approval: {change_set_at_approval}; second execution {second_status}")
    return judged(*Q11, Q11_EXPECTED, observed,
                  not planned_while_first_waited and change_set_at_approval and second_status == "Succeeded")


Q12 = ("Q12", "notifications.topic_arn", "With an existing SNS topic encrypted by a KMS key the "
       "pipeline role may not use, does the Approve action still wait for a decision?")
Q12_EXPECTED = ("the approval is requested (Approve InProgress): the generated pipeline role gets no rights "
                "on a foreign topic's key")


def q12_encrypted_topic(*, approve_status: str | None, error_details: str = "") -> Result:
    observed = f"Approve {approve_status or 'never started'}" + (
        f": {error_details}" if error_details else "")
    return judged(*Q12, Q12_EXPECTED, observed, approve_status == "InProgress",
                  details="If this fails, the README's notifications.topic_arn must tell operators to let "
                          "the pipeline role use the topic's key (kms:GenerateDataKey*, kms:Decrypt).")


ALL = (Q1, Q2, Q3, Q4, Q5, Q6, Q7, Q8, Q9, Q10, Q11, Q12)
EXPECTED = {q[0]: e for q, e in zip(ALL, (Q1_EXPECTED, Q2_EXPECTED, Q3_EXPECTED, Q4_EXPECTED, Q5_EXPECTED,
                                          Q6_EXPECTED, Q7_EXPECTED, Q8_EXPECTED, Q9_EXPECTED, Q10_EXPECTED,
                                          Q11_EXPECTED, Q12_EXPECTED), strict=True)}
