"""Security scanners on the generated bootstrap template, each from its own virtual environment.

    python .ci/scan.py [--tools-dir DIR] [--keep DIR]

Two templates are scanned: the example repository's committed ``pipelines/pipelines.json`` and one
generated from ``.ci/scan-all-options.yaml`` (every setting that changes the template) over the
example stacks. Four tools:

- cfn-lint, the project's own rules (E9101-E9106) appended and the informational checks included
  (``--include-checks I``), from the interpreter that runs this script;
- checkov (CloudFormation framework);
- parliament, through its Python API on every IAM document (identity policies, trust policies,
  bucket, topic and key policies) with the template's intrinsics resolved to literal ARNs (its CLI
  refuses ``--file`` when stdin is not a terminal, always the case in CI);
- cfn-guard with the AWS Control Tower proactive-control rules, both from the PyPI wheel
  ``cdklabs-cdk-validator-cfnguard``, which bundles the cfn-guard binary and the rule set.

checkov pins old dependencies and parliament its own, so each tool gets a virtual environment of
its own under ``--tools-dir``, pinned to the versions below.

A finding passes only when the template's ``Metadata.Changegate.ScannerSuppressions`` names it
with a written reason: ``{tool: {rule: {"reason": "...", "resources": [logical ids]}}}`` (no
``resources``: every resource). A suppression with no reason, or one that matches no finding (a
stale one), fails the scan too. Exit 0 when every finding is explained, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.iam.policy_eval import resolve_template  # noqa: E402 (the root must be on sys.path first)

TOOLS = {
    "checkov": "checkov==3.3.30",
    "parliament": "parliament==1.6.4",
    "cfn-guard": "cdklabs-cdk-validator-cfnguard==0.0.62",
}
GUARD_BINARY = "package/bin/ubuntu/x86_64/cfn-guard"
GUARD_RULES = "package/rules/control-tower/cfn-guard"


@dataclass(frozen=True)
class Finding:
    tool: str
    rule: str
    resource: str  # a logical id, or "" when the tool reports the template as a whole
    message: str


def tool_python(tools_dir: Path, tool: str) -> Path:
    """The interpreter of the tool's own virtual environment, created and installed on first use."""
    home = tools_dir / tool
    python = home / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        TOOLS[tool]], check=True)
    return python


# ---- the tools -------------------------------------------------------------------------------


def run_cfn_lint(template: Path) -> list[Finding]:
    from generator.bootstrap.cfnlint_rules import rules_dir

    # cfnlint has no __main__: run its console entry point with this interpreter, never a PATH lookup
    entry = "import sys; from cfnlint.runner import main; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", entry, "--format", "json", "--include-checks", "I",
                             "--template", str(template), "--append-rules", rules_dir()],
                            capture_output=True, text=True)
    if result.returncode and not result.stdout.strip():
        raise SystemExit(f"cfn-lint failed: {result.stderr.strip()}")
    findings = []
    for match in json.loads(result.stdout or "[]"):
        path = match.get("Location", {}).get("Path") or []
        resource = path[1] if len(path) > 1 and path[0] == "Resources" else ""
        findings.append(Finding("cfn-lint", match["Rule"]["Id"], resource, match["Message"]))
    return findings


def run_checkov(tools_dir: Path, template: Path) -> list[Finding]:
    checkov = tool_python(tools_dir, "checkov").with_name("checkov")
    result = subprocess.run([str(checkov), "--file", str(template), "--framework", "cloudformation",
                             "--quiet", "--compact", "--output", "json", "--skip-download"],
                            capture_output=True, text=True)
    if not result.stdout.strip():
        raise SystemExit(f"checkov printed nothing: {result.stderr.strip()}")
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    findings = []
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            resource = check["resource"].rsplit(".", 1)[-1]  # "AWS::S3::Bucket.SourceBucket"
            findings.append(Finding("checkov", check["check_id"], resource, check["check_name"]))
    return findings


PARLIAMENT_SCRIPT = """
import json, sys
from parliament import analyze_policy_string
out = []
for item in json.load(sys.stdin):
    policy = analyze_policy_string(json.dumps(item["document"]), include_community_auditors=True)
    for finding in policy.findings:
        out.append({"resource": item["resource"], "kind": item["kind"], "issue": finding.issue,
                    "detail": str(finding.detail)[:300]})
print(json.dumps(out))
"""

# parliament reads every document as an identity policy. A trust policy has a Principal and no
# Resource by definition, and a key policy's "Resource": "*" means "this key" (KMS key policy
# documentation): those two issues on those two kinds of document say nothing about them.
NOT_APPLICABLE = {("trust", "MALFORMED"), ("key", "RESOURCE_STAR")}


def policy_documents(template: dict) -> list[dict]:
    """Every IAM document of the template, intrinsics resolved (the IAM tests' resolver)."""
    documents = []
    for logical_id, resource in resolve_template(template).items():
        kind, properties = resource["Type"], resource["Properties"]
        found = {
            "AWS::IAM::Role": [("trust", properties.get("AssumeRolePolicyDocument"))]
            + [("identity", p["PolicyDocument"]) for p in properties.get("Policies", [])],
            "AWS::IAM::ManagedPolicy": [("identity", properties.get("PolicyDocument"))],
            "AWS::IAM::Policy": [("identity", properties.get("PolicyDocument"))],
            "AWS::S3::BucketPolicy": [("resource", properties.get("PolicyDocument"))],
            "AWS::SNS::TopicPolicy": [("resource", properties.get("PolicyDocument"))],
            "AWS::KMS::Key": [("key", properties.get("KeyPolicy"))],
        }.get(kind, [])
        documents += [{"resource": logical_id, "kind": k, "document": d} for k, d in found if d]
    return documents


def run_parliament(tools_dir: Path, documents: list[dict]) -> list[Finding]:
    python = tool_python(tools_dir, "parliament")
    result = subprocess.run([str(python), "-c", PARLIAMENT_SCRIPT], input=json.dumps(documents),
                            capture_output=True, text=True, check=True)
    return [Finding("parliament", f["issue"], f["resource"], f"{f['kind']} policy: {f['detail']}")
            for f in json.loads(result.stdout) if (f["kind"], f["issue"]) not in NOT_APPLICABLE]


def safe_extract(archive: tarfile.TarFile, target: Path) -> None:
    """Extract only regular files and folders that stay inside ``target``.

    tarfile's ``filter="data"`` does this, but only from Python 3.11.4 / 3.10.12 / 3.12; the README
    promises Python 3.10 or newer (a Debian 3.11.2 has no ``filter``), so the check is done here when
    the interpreter lacks it.
    """
    if hasattr(tarfile, "data_filter"):
        archive.extractall(target, filter="data")
        return
    root = target.resolve()
    for member in archive.getmembers():
        destination = (target / member.name).resolve()
        if not (member.isfile() or member.isdir()) or not destination.is_relative_to(root):
            raise SystemExit(f"refusing to unpack {member.name!r} from the cfn-guard package: "
                             "not a plain file or folder inside the target")
    archive.extractall(target)


def guard_files(tools_dir: Path) -> tuple[Path, Path]:
    """The cfn-guard binary and the Control Tower rules, unpacked from the wheel's jsii tarball."""
    python = tool_python(tools_dir, "cfn-guard")
    unpacked = tools_dir / "cfn-guard-package"
    if not (unpacked / GUARD_BINARY).exists():
        site = subprocess.run([str(python), "-c", "import cdklabs.cdk_validator_cfnguard as m, os; "
                               "print(os.path.dirname(m.__file__))"],
                              capture_output=True, text=True, check=True).stdout.strip()
        tarball = next(Path(site, "_jsii").glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            safe_extract(archive, unpacked)
        (unpacked / GUARD_BINARY).chmod(0o755)
    return unpacked / GUARD_BINARY, unpacked / GUARD_RULES


def run_cfn_guard(tools_dir: Path, template: Path) -> list[Finding]:
    binary, rules = guard_files(tools_dir)
    result = subprocess.run([str(binary), "validate", "--rules", str(rules), "--data", str(template),
                             "--output-format", "json", "--show-summary", "none"],
                            capture_output=True, text=True)
    findings = []
    decoder, text, index = json.JSONDecoder(), result.stdout, 0
    while index < len(text):  # one JSON document per rules file, back to back
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            break
        report, index = decoder.raw_decode(text, index)
        for entry in report.get("not_compliant", []):
            rule = entry.get("Rule", entry)
            control = _control_id(rule) or rule.get("name", "?")
            findings.append(Finding("cfn-guard", control, "", rule.get("name", "")))
    if result.returncode not in (0, 19) or (result.returncode == 19 and not findings):
        raise SystemExit(f"cfn-guard failed ({result.returncode}): {result.stderr.strip()[:500]}")
    return findings


def _control_id(rule: dict) -> str | None:
    """The Control Tower control id (``CT.S3.PR.2``) from a rule's nested custom message."""
    text = json.dumps(rule)
    start = text.find("[CT.")
    return text[start + 1:text.find("]", start)] if start >= 0 else None


# ---- suppressions -----------------------------------------------------------------------------


def suppressions(template: dict) -> dict:
    return template.get("Metadata", {}).get("Changegate", {}).get("ScannerSuppressions", {})


def judge(findings: list[Finding], allowed: dict) -> tuple[list[Finding], list[str]]:
    """Findings no suppression explains, and problems with the suppressions themselves."""
    problems, used = [], set()
    for tool, rules in allowed.items():
        for rule, entry in rules.items():
            if not str(entry.get("reason", "")).strip():
                problems.append(f"suppression {tool} {rule} has no reason")
    unexplained = []
    for finding in findings:
        entry = allowed.get(finding.tool, {}).get(finding.rule)
        resources = entry.get("resources") if entry else None
        if entry and (not resources or finding.resource in resources):
            used.add((finding.tool, finding.rule))
        else:
            unexplained.append(finding)
    for tool, rules in allowed.items():
        problems += [f"suppression {tool} {rule} matches no finding (stale: remove it)"
                     for rule in rules if (tool, rule) not in used]
    return unexplained, problems


def scan(template_path: Path, tools_dir: Path) -> int:
    template = json.loads(template_path.read_text("utf-8"))
    findings = [*run_cfn_lint(template_path),
                *run_checkov(tools_dir, template_path),
                *run_parliament(tools_dir, policy_documents(template)),
                *run_cfn_guard(tools_dir, template_path)]
    unexplained, problems = judge(findings, suppressions(template))
    explained = len(findings) - len(unexplained)
    print(f"{template_path.name}: {len(findings)} findings, {explained} explained by a written suppression, "
          f"{len(unexplained)} unexplained")
    for finding in unexplained:
        print(f"  {finding.tool} {finding.rule} {finding.resource or '(template)'}: {finding.message}")
    for problem in problems:
        print(f"  {problem}")
    return 1 if unexplained or problems else 0


def all_options_template(workdir: Path) -> Path:
    repo = workdir / "all-options"
    shutil.copytree(ROOT / "stacks", repo / "stacks")
    shutil.copytree(ROOT / "pipelines" / "policies", repo / "pipelines" / "policies")
    shutil.copy(ROOT / ".ci" / "scan-all-options.yaml", repo / "pipelines" / "config.yaml")
    output = workdir / "all-options.json"
    subprocess.run([sys.executable, "-m", "changegate.cli", "generate", "--root", str(repo),
                    "--output", str(output)], check=True, stdout=subprocess.DEVNULL)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tools-dir", type=Path, default=ROOT / ".venv" / "scanners",
                        help="where each tool's virtual environment lives (default: .venv/scanners)")
    args = parser.parse_args(argv)
    args.tools_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        templates = [ROOT / "pipelines" / "pipelines.json", all_options_template(Path(workdir))]
        failed = [scan(template, args.tools_dir) for template in templates]
    return 1 if any(failed) else 0


if __name__ == "__main__":
    sys.exit(main())
