"""The live acceptance harness: deploy a throwaway changegate project, ask AWS, report, clean up.

One module per concern: ``settings`` (the environment that turns the suite on), ``ledger`` (what
was created, on disk, and how to delete it), ``watch`` (following pipeline executions),
``project`` (the throwaway repository, deploy and sync), ``probes`` (one function per question
of ../shared/notes/aws-fidelity.md section 2), ``report`` (Markdown and JSON), ``run`` (the order).
"""
