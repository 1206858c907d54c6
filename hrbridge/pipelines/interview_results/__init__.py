"""The interview_results loop: pull → validate (Great Expectations) → store/quarantine → write back.

Callable without Airflow. :func:`ingest_results` drains results delivered by the signed webhook,
then pulls completed results after the stored cursor page by page; each page is validated by the
YAML-declared suite and committed in ONE transaction together with the cursor (valid rows stored,
bad rows quarantined with every rule they broke and the raw payload, write-back rows queued), so a
crash between pages loses and duplicates nothing. Counts reconcile per run:
``read = stored + quarantined + duplicates``. :func:`write_back` sends queued scores to the HR
system and keeps failures pending with their error for the next run; :func:`sync_statuses` mirrors
the interview status into a configured HR field.
"""

from hrbridge.pipelines.interview_results.config import (
    CONFLICT_RULE,
    CURSOR_NAME,
    PENDING,
    WRITTEN,
    ResultsConfig,
    RunCounts,
    load_results_config,
    new_run_id,
    suite_runner,
)
from hrbridge.pipelines.interview_results.ingest import (
    enqueue_webhook_result,
    ingest_results,
    known_invitation_ids,
    media_vault,
    open_media,
    process_inbox,
    quarantine_summary,
    read_cursor,
    record_run,
    requeue_quarantined,
    seal_media,
    validate_and_store,
    writeback_fields,
)
from hrbridge.pipelines.interview_results.report import (
    ValidationReport,
    build_validation_report,
    example_detail,
    stored_validation_report,
    write_validation_report,
)
from hrbridge.pipelines.interview_results.writeback import (
    ResultsSummary,
    StatusCounts,
    WritebackCounts,
    run_interview_results,
    sync_statuses,
    write_back,
)

__all__ = [
    "CONFLICT_RULE", "CURSOR_NAME", "PENDING", "WRITTEN", "ResultsConfig", "ResultsSummary", "RunCounts",
    "StatusCounts", "WritebackCounts", "build_validation_report", "enqueue_webhook_result", "example_detail",
    "ingest_results", "known_invitation_ids", "load_results_config", "media_vault", "open_media", "seal_media", "new_run_id", "process_inbox", "quarantine_summary", "requeue_quarantined",
    "read_cursor", "record_run", "run_interview_results", "suite_runner", "sync_statuses",
    "validate_and_store", "write_back", "writeback_fields", "ValidationReport", "stored_validation_report",
    "write_validation_report",
]
