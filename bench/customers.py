"""The customer list at 100 and 10,000 customers: now two of the pages that
bench/pages.py measures (`page customers`, `page api customers (session)`).

Running this file runs bench/pages.py. Its names stay for the scripts that
import them (scripts/chaos.py).
"""

import sys

from benchdb import (  # noqa: F401 (re-exported)
    OWNER_EMAIL,
    PARTNER_SLUG,
    ROOT,
    analyze,
    database_label,
    seed,
    setup_django,
)

if __name__ == "__main__":
    import pages

    sys.exit(pages.main())
