"""An endpoint that is not AWS (a proxy's error page) through the real session and client config:
one line per failure, never the page itself, and a bounded number of attempts (issue 9, item 13).

A local HTTP server on 127.0.0.1 plays the proxy: ListPipelines answers like CodePipeline,
GetPipelineState answers an HTML 403 page for one pipeline and an HTML 502 page for the other.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from changegate.aws import MAX_ATTEMPTS, Aws, aws_call, make_session
from generator.errors import AwsError

FORBIDDEN = (b"<!DOCTYPE html>\r\n<html><head><title>403 Forbidden</title></head>\r\n<body>\r\n"
             b"<h1>Access denied by the corporate proxy</h1>\r\n<p>Policy 42</p>\r\n</body></html>\r\n")
BAD_GATEWAY = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
               b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
               b"</body>\r\n</html>\r\n")

PORTAL = b"<html><head><title>Guest Wi-Fi: sign in</title></head><body><form>...</form></body></html>"


class Proxy(BaseHTTPRequestHandler):
    attempts: ClassVar[Counter] = Counter()

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target", "")
        if not target:  # CloudFormation's query protocol: a form, not JSON
            self._send(403, "text/html", FORBIDDEN)
            return
        body = json.loads(raw or b"{}")
        if target.endswith(".ListPipelines"):
            self._send(200, "application/x-amz-json-1.1", json.dumps({"pipelines": [
                {"name": "acme-database", "version": 1}, {"name": "acme-network", "version": 1}]}).encode())
            return
        self.attempts[body.get("name")] += 1
        if body.get("name") == "acme-portal":  # a captive portal: its login page, with HTTP 200
            self._send(200, "text/html; charset=utf-8", PORTAL)
        elif body.get("name") == "acme-database":
            self._send(403, "text/html", FORBIDDEN)
        else:
            self._send(502, "text/html", BAD_GATEWAY)

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy(monkeypatch):
    Proxy.attempts = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_port}")
    yield Proxy.attempts
    server.shutdown()
    server.server_close()


def test_status_shows_one_line_per_failing_pipeline_after_bounded_retries(proxy, repo, run):
    started = time.monotonic()
    result = run(["status", "--root", str(repo)], aws=Aws(make_session()))
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.error
    assert "<" not in result.stdout and "nginx" not in result.stdout
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert len(result.stdout.splitlines()) == 2 + 3  # summary, header, database, legacy, network
    assert rows["acme-database"].split()[1] == "unknown"
    assert rows["acme-database"].endswith(
        'codepipeline:GetPipelineState on pipeline acme-database failed: the endpoint answered HTTP 403 '
        'with an HTML page ("403 Forbidden"), not an AWS response; a proxy or gateway answered instead '
        "of AWS: check HTTPS_PROXY/HTTP_PROXY, AWS_ENDPOINT_URL and --region")
    assert rows["acme-network"].endswith(
        'codepipeline:GetPipelineState on pipeline acme-network failed: the endpoint answered HTTP 502 '
        'with an HTML page ("Bad Gateway"), not an AWS response; a proxy or gateway answered instead '
        "of AWS: check HTTPS_PROXY/HTTP_PROXY, AWS_ENDPOINT_URL and --region")
    # a 403 is not retried; a 502 is, MAX_ATTEMPTS times in all (botocore's default here was 11)
    assert proxy == {"acme-database": 1, "acme-network": MAX_ATTEMPTS} and MAX_ATTEMPTS == 3
    assert elapsed < 15  # two backoffs of at most 2 s and 4 s, not the 20 s of ten retries


def test_an_html_page_in_a_message_is_summarised_on_one_line(proxy):
    client = Aws(make_session()).client("codepipeline")
    with pytest.raises(AwsError) as caught, aws_call("codepipeline:GetPipelineState",
                                                     "pipeline acme-database"):
        client.get_pipeline_state(name="acme-database")
    message = str(caught.value)
    assert "\n" not in message and "<" not in message and "Policy 42" not in message
    assert 'HTTP 403 with an HTML page ("403 Forbidden")' in message


def test_an_xml_service_answering_html_is_one_line_too(proxy):
    """CloudFormation speaks XML: botocore's parser reads the page as XML and reports "Unknown"."""
    client = Aws(make_session()).client("cloudformation")
    with pytest.raises(AwsError) as caught, aws_call("cloudformation:DescribeStacks", "stack/acme-pipelines"):
        client.describe_stacks(StackName="acme-pipelines")
    message = str(caught.value)
    assert "\n" not in message and "<" not in message
    assert message.startswith("cloudformation:DescribeStacks on stack/acme-pipelines failed: the endpoint "
                              'answered HTTP 403 with an HTML page ("403 Forbidden"), not an AWS response')


def test_an_html_page_with_http_200_is_not_taken_for_an_empty_answer(proxy):
    """botocore would parse it into a state with no stages; a row would then look idle."""
    client = Aws(make_session()).client("codepipeline")
    with pytest.raises(AwsError) as caught, aws_call("codepipeline:GetPipelineState", "pipeline acme-portal"):
        client.get_pipeline_state(name="acme-portal")
    assert str(caught.value) == (
        "codepipeline:GetPipelineState on pipeline acme-portal failed: the reply is not an AWS response but "
        'an HTML page ("Guest Wi-Fi: sign in"); a proxy or gateway answered instead of AWS: check '
        "HTTPS_PROXY/HTTP_PROXY, AWS_ENDPOINT_URL and --region")
    assert proxy["acme-portal"] == 1
