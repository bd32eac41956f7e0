"""Sensitive actions on a page ask for recent re-authentication (SPEC §1):
`reauthenticate(client)` types the password on allauth's page, as a person
does, so the test's next sensitive POST goes straight through."""

from django.urls import reverse

from tenants.tests.factories import PASSWORD


def reauthenticate(client, password: str = PASSWORD) -> None:
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content.decode()[-2000:]
