"""Signals of the tenant tree for the apps above it."""

from django.dispatch import Signal

# Sent by `tenants.services.tenant_move` after a tenant and its sub-tree were
# re-hung (a bulk update: no post_save), with `tenant`, `old_path`, `new_path`.
subtree_moved = Signal()
