"""Log formats (LOGGING in portal/settings): one time zone in every log, UTC in
ISO 8601 (`2026-12-06T19:42:04.123+00:00`), whatever TIME_ZONE says; in
production one JSON object per line (portal/settings/prod.py)."""

import datetime
import json
import logging

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def utc_iso(created: float) -> str:
    """A log record's time (seconds since the epoch) in UTC, ISO 8601."""
    moment = EPOCH + datetime.timedelta(seconds=created)
    return moment.isoformat(timespec="milliseconds")


class UtcFormatter(logging.Formatter):
    """The plain format, its `%(asctime)s` in UTC, ISO 8601."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_iso(record.created)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, request_id, message and,
    when there is one, the traceback (`exc_info`) — all on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class GunicornFilter(logging.Filter):
    """gunicorn's records in the app's formats (gunicorn.conf.py): a line of the
    access log carries the request id the app answered with (`X-Request-ID`,
    read from gunicorn's atoms), any other line "-". Never filters out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            atoms = record.args if isinstance(record.args, dict) else {}
            record.request_id = atoms.get("{x-request-id}o") or "-"
        return True
