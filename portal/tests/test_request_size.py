"""Issue 21, reproduction 7: a body larger than its route takes is refused
before a byte of it is read (portal.request_size), with 413: JSON under /api/,
a page elsewhere. The requests below announce 60 MB and carry a body that
fails the test if anything reads it.

Also the gunicorn configuration of the Docker image bounds the request line and
headers (gunicorn.conf.py)."""

import runpy
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.parse import MAX_BYTES as IMPORT_MAX_BYTES
from portal.request_size import ENVELOPE_BYTES, route_max_bytes
from tenants.models import Branding, Tenant
from tenants.services import LOGO_MAX_BYTES

pytestmark = pytest.mark.django_db

SIXTY_MB = 60 * 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class UnreadableBody:
    """A `wsgi.input` that fails the test if the body is read at all."""

    def read(self, *args, **kwargs):
        raise AssertionError("the body was read")

    readline = read


def announce(client, method: str, path: str, size: int, content_type: str, **extra):
    """`method path` announcing a body of `size` bytes that cannot be read."""
    return client.generic(
        method.upper(),
        path,
        content_type=content_type,
        **{"wsgi.input": UnreadableBody(), "CONTENT_LENGTH": str(size), **extra},
    )


MULTIPART = "multipart/form-data; boundary=xyz"


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("put", "/api/v1/organization/branding/logo/", MULTIPART),
        ("post", "/api/v1/customers/import/", MULTIPART),
        ("post", "/api/v1/orders/", "application/json"),
        ("post", "/api/v1/tokens/", "application/json"),
        ("patch", "/api/v1/customers/00000000-0000-0000-0000-000000000000/", "application/json"),
    ],
)
def test_a_60_mb_api_request_is_refused_unread_with_a_json_413(
    world, api, method, path, content_type
):
    tenants = Tenant.objects.count()
    response = announce(
        api(world.partner_owner, world.partner), method, path, SIXTY_MB, content_type
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "too large" in response.json()["detail"]
    assert not Branding.unscoped.exclude(logo_type="").exists()
    assert Tenant.objects.count() == tenants  # nothing imported


@pytest.mark.parametrize("path", ["/t/alpine/organization/", "/t/alpine/customers/import/"])
def test_a_60_mb_upload_page_is_refused_unread_with_a_page(world, client, path):
    client.force_login(world.partner_owner)
    response = announce(client, "post", path, SIXTY_MB, MULTIPART)
    assert response.status_code == 413
    page = response.content.decode()
    assert "<h1>Request too large</h1>" in page and "too large" in page
    assert response["Content-Type"].startswith("text/html")


def test_an_anonymous_60_mb_request_is_refused_before_anything_else(client):
    assert announce(client, "post", "/accounts/login/", SIXTY_MB, MULTIPART).status_code == 413
    api = announce(client, "post", "/api/v1/orders/", SIXTY_MB, "application/json")
    assert api.status_code == 413 and "too large" in api.json()["detail"]


def test_each_route_takes_what_its_file_may_weigh_and_no_more(world, api, client):
    """The logo takes 256 KB and its envelope, the import 10 MB and its
    envelope, every other route a form's 2.5 MB: one byte more is a 413, unread;
    up to the limit the request reaches its view (which reads it: the test
    client's real body)."""
    assert route_max_bytes("/api/v1/organization/branding/logo/") == max(
        LOGO_MAX_BYTES + ENVELOPE_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
    assert route_max_bytes("/api/v1/customers/import/") == IMPORT_MAX_BYTES + ENVELOPE_BYTES
    assert route_max_bytes("/t/alpine/customers/import/") == IMPORT_MAX_BYTES + ENVELOPE_BYTES
    assert route_max_bytes("/api/v1/orders/") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert route_max_bytes("/no/such/page/") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    owner = api(world.partner_owner, world.partner)
    for path, limit in (
        ("/api/v1/customers/import/", IMPORT_MAX_BYTES + ENVELOPE_BYTES),
        ("/api/v1/orders/", settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
    ):
        assert announce(owner, "post", path, limit + 1, MULTIPART).status_code == 413
    # within the limit, the view answers (and reads the body it was sent)
    logo = owner.put(
        "/api/v1/organization/branding/logo/",
        {"logo": SimpleUploadedFile("logo.png", PNG, content_type="image/png")},
        format="multipart",
    )
    assert logo.status_code == 200, logo.content
    too_big_logo = owner.put(
        "/api/v1/organization/branding/logo/",
        {"logo": SimpleUploadedFile("big.png", PNG + b"\x00" * LOGO_MAX_BYTES)},
        format="multipart",
    )
    assert too_big_logo.status_code == 400  # through the door, refused by the service
    assert "logo" in too_big_logo.json()


def test_a_request_without_a_body_or_with_a_bad_length_is_untouched(world, api):
    owner = api(world.partner_owner, world.partner)
    assert owner.get("/api/v1/organization/").status_code == 200
    assert (
        owner.generic("GET", "/api/v1/organization/", CONTENT_LENGTH="not-a-number").status_code
        == 200
    )


def test_gunicorn_bounds_the_request_line_and_headers_in_the_image():
    root = Path(settings.BASE_DIR)
    config = runpy.run_path(str(root / "gunicorn.conf.py"))
    assert config["limit_request_line"] == 4094
    assert config["limit_request_fields"] == 50
    assert config["limit_request_field_size"] == 8190
    # the image and the compose stack start gunicorn with it
    assert '"-c", "gunicorn.conf.py"' in (root / "Dockerfile").read_text()
    assert '"-c", "gunicorn.conf.py"' in (root / "docker-compose.yml").read_text()
