"""The logo of the branding (SPEC §5): uploaded by owners and admins, checked by
its first bytes, inherited down the tree, shown in the console and served with
headers that keep it an image."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tenants.models import Branding
from tenants.selectors import branding_effective

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
LOGO_API = "/api/v1/organization/branding/logo/"


def upload(name, content, content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_a_partner_logo_is_inherited_by_its_customers_and_served(world, api, client):
    response = api(world.partner_owner, world.partner).put(
        LOGO_API, {"logo": upload("logo.png", PNG)}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    logo_url = response.json()["effective"]["logo_url"]
    assert logo_url.startswith(f"/branding/{world.partner.pk}/logo?v=")
    # the customer below inherits it, and the sub-partner too
    assert branding_effective(tenant=world.customer)["logo_url"] == logo_url
    assert branding_effective(tenant=world.sub_partner)["logo_url"] == logo_url
    assert branding_effective(tenant=world.other_customer)["logo_url"] == ""
    # anyone may fetch a logo; it stays an image
    served = client.get(logo_url)
    assert served.status_code == 200
    assert served.content == PNG
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'"
    # and the console shows it in the top bar
    client.force_login(world.customer_owner)
    page = client.get(f"/t/{world.customer.slug}/").content.decode()
    assert f'src="{logo_url}"' in page


def test_only_images_by_their_bytes_and_small_ones(world, api):
    client = api(world.partner_owner, world.partner)
    for name, content, content_type in (
        ("logo.svg", SVG, "image/svg+xml"),
        ("fake.png", b"GIF89a" + b"\x00" * 20, "image/png"),
        ("big.png", PNG + b"\x00" * 256 * 1024, "image/png"),
    ):
        response = client.put(
            LOGO_API, {"logo": upload(name, content, content_type)}, format="multipart"
        )
        assert response.status_code == 400, name
        assert "logo" in response.json()
    assert not Branding.unscoped.exclude(logo_type="").exists()


def test_a_user_without_admin_role_may_not_change_the_logo(world, api):
    response = api(world.customer_user, world.customer).put(
        LOGO_API, {"logo": upload("logo.png", PNG)}, format="multipart"
    )
    assert response.status_code == 403


def test_the_organization_page_uploads_and_removes_the_logo(world, browser):
    client = browser(world.customer_owner)
    url = f"/t/{world.customer.slug}/organization/"
    response = client.post(url, {"form": "logo", "logo": upload("logo.jpg", JPEG, "image/jpeg")})
    assert response.status_code == 302
    assert Branding.unscoped.get(tenant=world.customer).logo_type == "image/jpeg"
    page = client.get(url).content.decode()
    assert "Your own logo." in page
    bad = client.post(url, {"form": "logo", "logo": upload("x.svg", SVG, "image/svg+xml")})
    assert bad.status_code == 400
    assert "Give a PNG, JPEG or WebP image." in bad.content.decode()
    client.post(url, {"form": "logo", "remove": "1"})
    assert Branding.unscoped.get(tenant=world.customer).logo_type == ""


def test_a_missing_logo_is_a_404(world, client):
    assert client.get(f"/branding/{world.partner.pk}/logo").status_code == 404
