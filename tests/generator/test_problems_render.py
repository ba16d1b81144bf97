"""Text output shortens very long messages (start and end); JSON keeps them whole (issue 9, item 13)."""

from __future__ import annotations

from generator.contract.problems import TEXT_MESSAGE_LIMIT, error, shorten

VERDICT = "} is not of type 'string' [cfn-lint E3012]"


def test_a_long_message_keeps_its_start_and_its_verdict_in_text_and_all_of_it_in_json():
    message = "{'Key0': " + "'value', " * 400 + VERDICT
    problem = error("stacks/app/template.yaml", "cfn-lint E3012", message, line=7)
    line = problem.render()
    assert line.startswith("stacks/app/template.yaml:7: error: {'Key0': 'value', ")
    assert line.endswith(VERDICT)
    assert f"[{len(message) - TEXT_MESSAGE_LIMIT * 3 // 5 - TEXT_MESSAGE_LIMIT // 4:,} more characters; " \
           "--format json shows them]" in line
    assert len(line) < len("stacks/app/template.yaml:7: error: ") + TEXT_MESSAGE_LIMIT + 60
    assert problem.to_json()["message"] == message


def test_a_message_within_the_limit_is_unchanged():
    message = "x" * TEXT_MESSAGE_LIMIT
    assert shorten(message) == message
    assert error("f", "c", message).render() == f"f: error: {message}"
