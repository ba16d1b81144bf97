"""``changegate preview``: what merging a change would do, computed offline.

Compares two commits of the repository (or a commit and the working tree) and predicts, per
changed stack, what CloudFormation's change set would say: resources added, removed and
modified, the changed property paths, and whether each modification replaces the resource.
It needs no AWS account: replacement comes from the resource provider schemas cfn-lint ships
(``createOnlyProperties``), corrected by the AWS documentation where the two disagree
(``overrides.py``). Like ``generator/``, this package never talks to AWS (a test enforces it).
"""
