"""hrbridge's DAGs as Airflow operations: retries, failure thresholds, notifications, pools, approvals.

Each module is small and callable without a running Airflow: :mod:`.config` (configs/operations.yaml),
:mod:`.errors` (which failures are not retried), :mod:`.thresholds` (runs that failed their purpose
end red), :mod:`.notify` (Slack, JSON webhook, e-mail), :mod:`.pools` (shared rate limits),
:mod:`.params` (trigger params checked at run time), :mod:`.approval` (retention deletions above a
size wait for a person), :mod:`.defaults` (what every DAG's tasks share).
"""
