"""The reusable isolation check: given an actor of another tenant, every URL of
an app answers 404, exactly as for a missing id.

    urls = org_page_urls(tenants.urls, slug=foreign.slug, membership_id=m.id)
    assert_all_404(client, urls)

`org_page_urls` walks every pattern of a URL module, so a new page is covered
the day it is added; a pattern whose arguments the caller did not supply fails
the test instead of being skipped.
"""

import uuid

from django.urls import URLPattern, URLResolver, reverse

METHODS = ("get", "post", "put", "patch", "delete")


def _patterns(urlpatterns, prefix=""):
    for entry in urlpatterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield entry


def org_page_urls(*url_modules, **kwargs) -> list[str]:
    """Every browser URL of the `url_modules` (mounted under /t/<slug>/), filled with `kwargs`."""
    urls = []
    for pattern in (p for module in url_modules for p in _patterns(module.urlpatterns)):
        names = ["slug", *pattern.pattern.converters.keys()]
        missing = [name for name in names if name not in kwargs]
        assert not missing, f"isolation: no value for {missing} of URL {pattern.name!r}"
        urls.append(reverse(pattern.name, kwargs={name: kwargs[name] for name in names}))
    return urls


def assert_all_404(client, urls, methods=METHODS, **extra) -> None:
    failures = []
    for url in urls:
        for method in methods:
            response = getattr(client, method)(url, **extra)
            if response.status_code != 404:
                failures.append(f"{method.upper()} {url} → {response.status_code}")
    assert not failures, "reached another tenant's data:\n" + "\n".join(failures)


def missing_id() -> str:
    return str(uuid.uuid4())
