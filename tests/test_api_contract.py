"""The API keeps API.md's names: every field docs/api-fields.md lists (a mirror
of API.md's Resources table) is in the OpenAPI schema of its operation, so a
response or a body that drifts from the contract fails here, not at an
integrator's."""

import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

TABLE = Path(__file__).resolve().parent.parent / "docs" / "api-fields.md"
NOT_BUILT = "operation not built"
ROW = re.compile(r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|")


def contract_rows() -> list[dict]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not ROW.match(line):
            continue
        method, path, part, fields, pending = (
            c.strip() for c in line.strip().strip("|").split("|")
        )
        rows.append(
            {
                "method": method.lower(),
                "path": path,
                "in": part,
                "fields": [f.strip() for f in fields.split(",") if f.strip()],
                "pending": pending,
            }
        )
    return rows


ROWS = contract_rows()


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _deref(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _shapes(schema: dict, node: dict) -> list[dict]:
    """The object shapes a schema node may take (through $ref, allOf, oneOf, anyOf)."""
    node = _deref(schema, node)
    if node.get("type") == "array" and "items" in node:  # a list not paginated: its rows
        return _shapes(schema, node["items"])
    for key in ("oneOf", "anyOf"):
        if key in node:
            return [shape for option in node[key] for shape in _shapes(schema, option)]
    if "allOf" in node:
        merged: dict = {"properties": {}}
        for part in node["allOf"]:
            for shape in _shapes(schema, part):
                merged["properties"].update(shape.get("properties", {}))
        return [merged]
    return [node]


def has_field(schema: dict, node: dict, dotted: str) -> bool:
    name, _, rest = dotted.partition(".")
    many = name.endswith("[]")
    name = name.removesuffix("[]")
    for shape in _shapes(schema, node):
        child = shape.get("properties", {}).get(name)
        if child is None:
            continue
        if many:
            child = _deref(schema, child)
            if child.get("type") != "array":
                continue
            child = child["items"]
        if not rest or has_field(schema, child, rest):
            return True
    return False


def operation_body(schema: dict, operation: dict, part: str) -> dict | None:
    if part == "request":
        content = operation.get("requestBody", {}).get("content", {})
        media = content.get("application/json") or next(iter(content.values()), None)
        return media["schema"] if media else None
    for code, response in sorted(operation.get("responses", {}).items()):
        if code.startswith("2") and "application/json" in response.get("content", {}):
            return response["content"]["application/json"]["schema"]
    return None


def test_the_table_mirrors_api_md_and_is_read_whole():
    assert len(ROWS) >= 35
    assert all(row["in"] in ("request", "response") for row in ROWS)
    assert all(row["fields"] for row in ROWS)


@pytest.mark.parametrize(
    "row", ROWS, ids=[f"{r['method'].upper()} {r['path']} {r['in']}" for r in ROWS]
)
def test_the_schema_has_every_field_api_md_names(schema, row):
    operation = schema["paths"].get(row["path"], {}).get(row["method"])
    if operation is None:
        assert row["pending"] == NOT_BUILT, f"{row['method'].upper()} {row['path']} is missing"
        return
    body = operation_body(schema, operation, row["in"])
    assert body is not None, f"no JSON {row['in']} documented"
    pending = {f.strip() for f in row["pending"].split(",")}
    missing = [f for f in row["fields"] if f not in pending and not has_field(schema, body, f)]
    assert not missing, f"API.md names {missing}, absent from the schema"


def test_a_drifted_name_is_caught(schema):
    """The check itself: a name the schema does not have is reported."""
    body = operation_body(schema, schema["paths"]["/api/v1/orders/{id}/"]["get"], "response")
    assert has_field(schema, body, "lines[].charged")
    assert not has_field(schema, body, "lines[].charged_total")
    assert not has_field(schema, body, "charged.amount")


def test_the_invoice_pdf_is_served_as_application_pdf(schema):
    """API.md's `GET invoices/{id}/pdf/`: not JSON, so outside the table."""
    operation = schema["paths"]["/api/v1/invoices/{id}/pdf/"]["get"]
    assert "application/pdf" in operation["responses"]["200"]["content"]
