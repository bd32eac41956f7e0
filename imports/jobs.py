"""Submitting an import: a dry run, written now, or as a Celery job (ImportJob)
that reports its progress and is claimed again when its worker dies."""

import datetime
import logging
import uuid
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imports.apply import import_apply
from imports.models import ImportJob
from imports.parse import ImportInvalid, Upload
from imports.plan import ImportPlan, ImportResult, import_plan
from partners.models import Partnership, PartnershipEvent
from tenants.db import analyze
from tenants.jobs import enqueue_on_commit
from tenants.models import AuditEvent, Contact, Tenant
from tenants.selectors import OrgContext, org_context_for, uuid_or_404

logger = logging.getLogger(__name__)


SYNC_ROWS_MAX = 1_000  # above this, a Celery task writes the file (ImportJob)
JOB_ERRORS_KEPT = 1_000
# A job `running` for this long lost its worker (its transaction rolled back, so
# nothing was written): it may be claimed again. 10,000 rows take about a minute.
JOB_STALE_AFTER = datetime.timedelta(minutes=30)
JOB_LOST_AFTER = datetime.timedelta(minutes=5)  # queued this long: its message was lost
# An import writing this many rows refreshes the statistics of the tables it
# writes (PostgreSQL's ANALYZE, docs/operations.md): every job, and a large
# import written during the request.
ANALYZE_AFTER_ROWS = 500
IMPORTED_MODELS = (Tenant, Partnership, PartnershipEvent, Contact, AuditEvent)


# --- submitting: dry run, now, or as a job -----------------------------------------------------


@dataclass
class ImportOutcome:
    plan: ImportPlan
    result: ImportResult | None = None  # written during the request
    job: ImportJob | None = None  # queued for the task

    @property
    def dry_run(self) -> bool:
        return self.result is None and self.job is None


def import_submit(
    *, org: OrgContext, kind: str, file: Upload, dry_run: bool = False
) -> ImportOutcome:
    """What the page and the API call: validate the whole file (ImportInvalid with
    the report), then show the plan (dry run), write it now (up to SYNC_ROWS_MAX
    rows) or queue an ImportJob for the task."""
    plan = import_plan(org=org, kind=kind, file=file)
    if plan.errors:
        raise ImportInvalid(plan.errors)
    if dry_run:
        return ImportOutcome(plan)
    if plan.total <= SYNC_ROWS_MAX:
        result = import_apply(org=org, kind=kind, file=plan.content)
        if result.created + result.updated >= ANALYZE_AFTER_ROWS:
            analyze(IMPORTED_MODELS)
        return ImportOutcome(plan, result=result)
    return ImportOutcome(plan, job=_job_create(org, plan))


@transaction.atomic
def _job_create(org: OrgContext, plan: ImportPlan) -> ImportJob:
    job = ImportJob.unscoped.create(
        partner=org.tenant,
        kind=plan.kind,
        content=plan.content,
        total=plan.total,
        created_by=org.user,
    )
    enqueue_on_commit("partners.tasks.run_import_job", str(job.pk))
    return job


def import_job_get(*, org: OrgContext, job_id: object) -> ImportJob:
    """One import of this partner (any member may follow it); else 404."""
    job_id = uuid_or_404(job_id, _("No such import."))
    job = (
        ImportJob.unscoped.filter(partner=org.tenant, pk=job_id)
        .defer("content")
        .select_related("created_by")
        .first()
    )
    if job is None or not org.tenant.is_partner:
        raise Http404(_("No such import."))
    return job


class _Progress:
    """Writes a running job's `processed` where others see it at once. On
    PostgreSQL, through a second connection in autocommit (the import's own
    transaction commits only at the end); SQLite has one writer at a time, so
    there it goes into the import's transaction and shows when it commits."""

    def __init__(self, job_id: uuid.UUID):
        self.job_id = job_id
        self.side = None
        if connection.vendor == "postgresql":
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, processed: int) -> None:
        if self.side is None:
            ImportJob.unscoped.filter(pk=self.job_id).update(processed=processed)
            return
        quote = self.side.ops.quote_name
        sql = (
            f"UPDATE {quote(ImportJob._meta.db_table)} SET {quote('processed')} = %s "  # noqa: S608 (names from the model)
            f"WHERE {quote('id')} = %s"
        )
        try:
            with self.side.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
                cursor.execute(sql, [processed, self.job_id])
        except DatabaseError:
            logger.warning("import job %s: progress not written", self.job_id, exc_info=True)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def _job_finish(job: ImportJob, status: str, **fields: object) -> None:
    ImportJob.unscoped.filter(pk=job.pk).update(
        status=status, finished_at=timezone.now(), content="", **fields
    )


def import_jobs_to_retry(*, now: datetime.datetime) -> list[uuid.UUID]:
    """Jobs whose message or worker was lost: queued too long, or running stale."""
    return list(
        ImportJob.unscoped.filter(
            Q(status=ImportJob.Status.QUEUED, created_at__lt=now - JOB_LOST_AFTER)
            | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - JOB_STALE_AFTER)
        ).values_list("pk", flat=True)[:100]
    )


def import_job_run(*, job_id: uuid.UUID | str) -> str:
    """The task's work: write a queued job's file in one transaction. Idempotent:
    a job done, failed or running (on a live worker) is left alone; one left
    running by a worker that died is claimed again."""
    now = timezone.now()
    claimable = Q(status=ImportJob.Status.QUEUED) | Q(
        status=ImportJob.Status.RUNNING, started_at__lt=now - JOB_STALE_AFTER
    )
    claimed = ImportJob.unscoped.filter(claimable, pk=job_id).update(
        status=ImportJob.Status.RUNNING, started_at=now
    )
    if not claimed:
        return "skipped"
    job = ImportJob.unscoped.select_related("partner", "created_by").get(pk=job_id)
    progress = _Progress(job.pk)
    # The report is kept on the job: it reads in the language of whoever started it.
    language = getattr(job.created_by, "language", "") or None
    with translation.override(language):
        try:
            if job.created_by is None:
                raise PermissionDenied(_("The person who started this import has left."))
            org = org_context_for(user=job.created_by, tenant_id=job.partner_id)
            with transaction.atomic():
                result = import_apply(org=org, kind=job.kind, file=job.content, progress=progress)
                _job_finish(
                    job,
                    ImportJob.Status.DONE,
                    processed=job.total,
                    created_count=result.created,
                    updated_count=result.updated,
                )
            analyze(IMPORTED_MODELS)  # committed: the planner sees the new rows
            return ImportJob.Status.DONE
        except ImportInvalid as exc:
            _job_finish(
                job,
                ImportJob.Status.FAILED,
                error=ngettext(
                    "The file no longer fits your customers (they changed since it was checked): "
                    "%(count)s error; nothing was written.",
                    "The file no longer fits your customers (they changed since it was checked): "
                    "%(count)s errors; nothing was written.",
                    len(exc.errors),
                )
                % {"count": len(exc.errors)},
                errors=[e.as_dict() for e in exc.errors[:JOB_ERRORS_KEPT]],
            )
        except (PermissionDenied, Http404):
            _job_finish(
                job,
                ImportJob.Status.FAILED,
                error=_(
                    "The person who started this import may no longer import customers; "
                    "nothing was written."
                ),
            )
        except Exception:
            logger.exception("import job %s failed", job.pk)
            _job_finish(
                job,
                ImportJob.Status.FAILED,
                error=_("The import failed unexpectedly; nothing was written."),
            )
        finally:
            progress.close()
    return ImportJob.Status.FAILED
