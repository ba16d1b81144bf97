"""The review as people read it: the full text (``changegate changes``) and the console link.

What the approval's review link opens, and why (issue 11, item 2): the CloudFormation console's page
of the change set, addressed by the stack's and the change set's ARNs, which the review step now
knows (DescribeChangeSet returns both). That page shows every resource change, replacement and
property value, to any approver signed in to the account, for as long as the change set exists,
with the approver's own read permission (the approvers' policy grants DescribeChangeSet). The
alternatives were worse:

- a presigned S3 URL of a rendered page expires with the credentials that signed it: the function's
  role session lasts hours, while an approval may wait up to 7 days (the action's default timeout);
- a page stored beside the archive without a presigned URL needs the approver to have S3 and KMS
  read on the source bucket, which decision 7 keeps from approvers, and a console link to an S3
  object opens a download, not a page.

The one-line summary (counts, replacements, data loss, broadening, protection, risk) travels in the
approval's comments and the SNS e-mail; the page shows the detail CloudFormation holds.

AWS documents no deep-link format for the console; the one here is the format community tools use
(review-step facts §6), with both ARNs URL-encoded.

Standard library only: this runs inside the Lambda function.
"""

from __future__ import annotations

from urllib.parse import quote

from review.assess import Review

# The console's host per partition (F16; changegate/changesets.py CONSOLE_HOSTS, a test keeps them
# equal: this package cannot import changegate, or the function's zip would carry it). AWS's own
# approval notification links https://console.aws.amazon.com/... in commercial regions (CodePipeline
# user guide, approvals-json-format); China and GovCloud have their own consoles.
CONSOLE_HOSTS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def console_link(stack_id: str, change_set_id: str) -> str:
    """The change set's console page, from its ARN (``arn:<partition>:cloudformation:<region>:...``)."""
    parts = change_set_id.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not a change set ARN: {change_set_id!r}")
    partition, region = parts[1], parts[3]
    host = CONSOLE_HOSTS.get(partition, CONSOLE_HOSTS["aws"])
    return (f"https://{host}/cloudformation/home?region={region}#/stacks/changesets/changes"
            f"?stackId={quote(stack_id, safe='')}&changeSetId={quote(change_set_id, safe='')}")


def render_text(review: Review) -> str:
    """The full review, several lines: the summary, then every finding and every resource change."""
    lines = [review.summary_line(), f"Stack {review.stack_name}, change set {review.change_set_name}"]
    if review.change_set_id:
        lines.append(f"Change set id {review.change_set_id}")
    if not review.has_changes:
        return "\n".join(lines) + "\n"
    lines.append(f"Risk {review.risk}: {', '.join(review.reasons) or 'changes beyond tags and metadata'}")
    if review.nested_change_sets:
        lines.append(f"Nested change sets: {review.nested_change_sets}")
    if review.hook_invocations:
        lines.append(f"Hook invocations: {review.hook_invocations}")
    if review.drift_note:
        lines.append(f"Drift: {review.drift_note}")
    if review.checks_note:
        lines.append(review.checks_note)
    if review.findings:
        lines.append("Findings:")
        for finding in review.findings:
            where = (finding.logical_id if finding.stack == review.stack_name
                     else f"{finding.stack}/{finding.logical_id}")
            lines.append(f"  {finding.kind:<24} {where} ({finding.resource_type}): {finding.message}")
    lines.append("Changes:")
    for change in review.changes:
        where = (change["logical_id"] if change["stack"] == review.stack_name
                 else f"{change['stack']}/{change['logical_id']}")
        extra = []
        if change["replacement"] in ("True", "Conditional"):
            extra.append(f"replacement {change['replacement']}")
        if change["policy_action"]:
            extra.append(change["policy_action"])
        if change.get("drift"):
            extra.append(f"drift {change['drift']}")
        lines.append(f"  {change['action']:<8} {where} ({change['type']})"
                     + (f" [{', '.join(extra)}]" if extra else ""))
    return "\n".join(lines) + "\n"
