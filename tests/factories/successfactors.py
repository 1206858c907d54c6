"""Small builders for SuccessFactors test data: raw OData records, upsert bodies, connectors."""

from __future__ import annotations

from typing import Any

from connectors.http import RetryPolicy
from connectors.successfactors import SuccessFactorsConnector

SANDBOX_USER = "sfadmin@SFPART000001"
SANDBOX_PASSWORD = "sandbox-secret"  # noqa: S105 - the sandbox's documented default
SANDBOX_CLIENT = "hrbridge-sandbox-client"
SANDBOX_COMPANY = "SFPART000001"

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05, max_retry_after=0.2, total_budget=2.0)


def raw_application(application_id: int = 700001, **fields: Any) -> dict[str, Any]:
    """A JobApplication as SuccessFactors sends it: __metadata, Int64 strings, /Date()/, a deferred nav."""
    record: dict[str, Any] = {
        "__metadata": {"uri": f"https://sf.example/odata/v2/JobApplication({application_id}L)",
                       "type": "SFOData.JobApplication"},
        "applicationId": str(application_id),
        "candidateId": "10001",
        "status": "Applied",
        "lastModifiedDateTime": "/Date(1767225600000)/",
        "cust_aiOverallScore": None,
        "jobAppStatus": {"__deferred": {"uri": f"https://sf.example/odata/v2/JobApplication({application_id}L)/jobAppStatus"}},
    }
    record.update(fields)
    return record


APPLICATION_TYPES = {"applicationId": "Edm.Int64", "candidateId": "Edm.Int64", "status": "Edm.String",
                     "lastModifiedDateTime": "Edm.DateTimeOffset", "cust_aiOverallScore": "Edm.Decimal"}


def sandbox_connector(sandbox: Any, **kwargs: Any) -> SuccessFactorsConnector:
    """A Basic-auth connector for ``sandbox`` with fast retries unless overridden."""
    kwargs.setdefault("retry", FAST_RETRY)
    return SuccessFactorsConnector.basic(sandbox.url, SANDBOX_USER, SANDBOX_PASSWORD, **kwargs)
