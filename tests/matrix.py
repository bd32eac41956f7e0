"""The machinery of the tenant-isolation matrix (tests/test_isolation_matrix.py).

- `project_routes()`: every URL pattern of the project, read from the root
  resolver, so a page or endpoint added tomorrow is in the list tomorrow.
- `send()`: one request inside a savepoint that is rolled back, so every
  request meets the world exactly as it was built, and the writes the request
  made (INSERT, UPDATE, DELETE) are seen and named.
- `Normalizer`: one answer's text with the ids of the victim's objects and the
  ids of the missing ones replaced by the same placeholders, so "the answer for
  a foreign id is the answer for a missing id" is an equality of strings.
"""

import json
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver

METHODS = ("get", "post", "put", "patch", "delete")

# Writes a request may make whoever sends it: the session and its activity
# record (a signed-in client's own rows: tenants.sessions) and an API token's
# "last used" stamp (that column alone).
BOOKKEEPING = re.compile(
    r'^\s*(?:(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(?:django_session|usersessions_usersession)"?'
    r'|UPDATE\s+"?tenants_apitoken"?\s+SET\s+"?last_used_at"?\s*=\s*%s\s+WHERE)',
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Route:
    """One URL pattern: its name (namespaced, as `reverse` takes it), its route
    as written, and the names of the arguments it takes."""

    name: str
    route: str
    kwargs: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/v1/")

    @property
    def in_org(self) -> bool:
        """A browser page of an organization (`/t/<slug>/…`)."""
        return "slug" in self.kwargs

    @property
    def object_kwargs(self) -> tuple[str, ...]:
        return tuple(k for k in self.kwargs if k not in ("slug", "format"))

    def __str__(self) -> str:
        return f"{self.name} ({self.route})"


def _walk(patterns, prefix="", namespace=None, kwargs=()):
    for entry in patterns:
        names = kwargs + tuple(k for k in entry.pattern.regex.groupindex if k not in kwargs)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner, names)
        elif isinstance(entry, URLPattern):
            name = entry.name or ""
            if name and namespace:
                name = f"{namespace}:{name}"
            yield Route(name=name, route=prefix + str(entry.pattern), kwargs=names)


def project_routes() -> list[Route]:
    """Every URL pattern of the project, in resolver order."""
    return list(_walk(get_resolver().url_patterns))


@dataclass
class Answer:
    status: int
    body: str
    content_type: str
    location: str
    writes: list[str] = field(default_factory=list)
    error: str = ""

    def summary(self) -> str:
        if self.error:
            return f"500 {self.error}"
        where = f" → {self.location}" if self.location else ""
        return f"{self.status}{where}"


_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.IGNORECASE)


def _writes(statements: Iterable[str]) -> list[str]:
    found = []
    for sql in statements:
        match = _WRITE.match(sql)
        if match and not BOOKKEEPING.match(sql):
            found.append(f"{match.group(1).split()[0].upper()} {match.group(2)}")
    return found


def encode(data: dict | None, *, api: bool) -> tuple[str, str]:
    """(body, content type) of a PUT/PATCH/DELETE/POST body."""
    if api:
        return json.dumps(data or {}), "application/json"
    return urlencode(data or {}, doseq=True), "application/x-www-form-urlencoded"


def send(client, method: str, url: str, *, data=None, api: bool, headers=None) -> Answer:
    """Send one request in a savepoint that is rolled back afterwards; record
    the writes it made and an exception it raised (as a 500)."""
    headers = headers or {}
    kwargs = dict(headers)
    if method == "get":
        kwargs["data"] = data or {}
    else:
        kwargs["data"], kwargs["content_type"] = encode(data, api=api)
    error, answer = "", None
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        try:
            with transaction.atomic():
                response = getattr(client, method)(url, **kwargs)
                if getattr(response, "streaming", False):
                    body = b"".join(response.streaming_content)
                else:
                    body = response.content
                transaction.set_rollback(True)
            answer = Answer(
                status=response.status_code,
                body=body.decode("utf-8", errors="replace"),
                content_type=response.get("Content-Type", ""),
                location=response.get("Location", ""),
            )
        except Exception as exc:  # an exception of the view is a finding
            frames = traceback.extract_tb(exc.__traceback__)
            own = [f for f in frames if "/site-packages/" not in f.filename] or frames
            where = f"{own[-1].filename.rsplit('/work/main/', 1)[-1]}:{own[-1].lineno}"
            error = f"{type(exc).__name__}: {exc} (at {where})"
    if answer is None:
        answer = Answer(status=500, body="", content_type="", location="", error=error)
    answer.writes = _writes(statements)
    return answer


_CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=|csrf[\w-]*"\s+content=)"[^"]*"')
_CSRF_HEADER = re.compile(r'("X-CSRFToken":\s*)"[^"]*"')


class Normalizer:
    """Replaces ids (and slugs, and the request's own path) with placeholders."""

    def __init__(self, replacements: dict[str, str]):
        # Longest first, so a uuid's hex is not cut inside its dashed form.
        self.pairs = sorted(replacements.items(), key=lambda kv: -len(kv[0]))

    def __call__(self, text: str) -> str:
        for old, new in self.pairs:
            if old:
                text = text.replace(old, new)
        text = _CSRF.sub(r'\1"<csrf>"', text)
        return _CSRF_HEADER.sub(r'\1"<csrf>"', text)


def id_forms(value: str) -> list[str]:
    """The spellings of an id that may appear in an answer."""
    forms = [value]
    if len(value) == 36 and value.count("-") == 4:
        forms.append(value.replace("-", ""))
    forms.append(quote(value, safe=""))
    return list(dict.fromkeys(forms))


def without_path(body: str, url: str) -> str:
    """The answer without the request's own URL (a page may name its own address)."""
    path = url.split("?", 1)[0]
    for form in (path, quote(path, safe=""), quote(path)):
        body = body.replace(form, "<this url>")
    return body
