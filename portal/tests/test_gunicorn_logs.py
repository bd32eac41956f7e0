"""gunicorn's own logs are written like the app's (issue 28): gunicorn.conf.py's
`logconfig_dict`, loaded by gunicorn's own Logger in a separate process (the
way the master and the workers load it), formats a worker's line and an access
line in UTC, ISO 8601 — as JSON lines in production."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# In a child process: gunicorn's Config from gunicorn.conf.py (as `-c` does),
# the access log on stdout (`--access-logfile -`), gunicorn's Logger, one error
# line and one access line.
SCRIPT = """
import datetime, runpy, types
from gunicorn.config import Config
from gunicorn.glogging import Logger

cfg = Config()
for name, value in runpy.run_path("gunicorn.conf.py").items():
    if name in cfg.settings:
        cfg.set(name, value)
cfg.set("accesslog", "-")
log = Logger(cfg)
log.error("Worker (pid:%s) was sent SIGKILL!", 4242)
response = types.SimpleNamespace(
    status="201 Created", sent=57, headers=[("X-Request-ID", "0123456789abcdef0123456789abcdef")]
)
environ = {
    "REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "POST", "RAW_URI": "/api/v1/orders/",
    "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_USER_AGENT": "curl/8",
}
log.access(response, types.SimpleNamespace(headers=[]), environ, datetime.timedelta(milliseconds=84))
"""


def _run(settings_module: str) -> tuple[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def test_gunicorns_lines_are_json_in_utc_in_production():
    stdout, stderr = _run("portal.settings.prod")
    [error] = [json.loads(line) for line in stderr.splitlines()]
    [access] = [json.loads(line) for line in stdout.splitlines()]

    assert error["logger"] == "gunicorn.error" and error["level"] == "ERROR"
    assert error["message"] == "Worker (pid:4242) was sent SIGKILL!"
    assert error["request_id"] == "-"
    assert access["logger"] == "gunicorn.access" and access["level"] == "INFO"
    assert access["message"] == '10.0.0.7 "POST /api/v1/orders/ HTTP/1.1" 201 57 84ms "-" "curl/8"'
    assert access["request_id"] == "0123456789abcdef0123456789abcdef"
    for line in (error, access):
        assert line["time"].endswith("+00:00") and line["time"][10] == "T"


def test_gunicorns_lines_are_plain_utc_iso_8601_elsewhere():
    stdout, stderr = _run("portal.settings.dev")
    assert stderr.rstrip("\n").endswith(
        "+00:00 ERROR gunicorn.error [-] Worker (pid:4242) was sent SIGKILL!"
    )
    assert stdout.rstrip("\n").endswith(
        "+00:00 INFO gunicorn.access [0123456789abcdef0123456789abcdef] "
        '10.0.0.7 "POST /api/v1/orders/ HTTP/1.1" 201 57 84ms "-" "curl/8"'
    )
