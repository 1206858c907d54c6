"""Small builders of SuccessFactors-shaped recruiting records and resume texts for tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def sf_application(app_id: int = 1001, **overrides: Any) -> dict[str, Any]:
    """A JobApplication record as the connector yields it (dates aware, Int64 as int)."""
    record: dict[str, Any] = {
        "applicationId": app_id,
        "candidateId": 500 + app_id,
        "jobReqId": 42,
        "status": "Applied",
        "firstName": "Wei",
        "lastName": "Wang",
        "contactEmail": f"candidate{app_id}@example.com",
        "appLocale": "zh_CN",
        "startDate": None,
        "lastModifiedDateTime": BASE_TIME + timedelta(minutes=app_id % 60),
        "cust_aiInterviewStatus": None,
        "cust_referralSource": "campus",
    }
    record.update(overrides)
    return record


def sf_candidate(candidate_id: int = 1501, **overrides: Any) -> dict[str, Any]:
    """A Candidate record as the connector yields it."""
    record: dict[str, Any] = {
        "candidateId": candidate_id,
        "firstName": "Emily",
        "lastName": "Chen",
        "primaryEmail": f"emily{candidate_id}@example.com",
        "cellPhone": "+86 138 0013 8000",
        "candidateLocale": "en_US",
        "country": "CN",
        "city": "Shanghai",
        "currentTitle": "Account Manager",
        "creationDateTime": BASE_TIME - timedelta(days=30),
        "lastModifiedDateTime": BASE_TIME,
    }
    record.update(overrides)
    return record


def sf_requisition(req_id: int = 42, family: str = "Sales", **overrides: Any) -> dict[str, Any]:
    """A JobRequisition record as the connector yields it."""
    record: dict[str, Any] = {
        "jobReqId": req_id,
        "jobCode": f"{family[:3].upper()}-{req_id}",
        "function": family,
        "department": family,
        "country": "CN",
        "defaultLanguage": "zh_CN",
        "lastModifiedDateTime": BASE_TIME,
    }
    record.update(overrides)
    return record


SALES_RESUME_ZH = "王伟 销售经理\n工作经验：9年\n负责大客户销售与商务谈判，熟练使用 Salesforce 和 Excel。\n本科，英语流利。"
ENGINEER_RESUME_EN = (
    "Emily Chen - Software Engineer\n"
    "2019.03 - 2022.06 Backend developer (Python, PostgreSQL)\n"
    "2022.07 - present Senior engineer, Kubernetes and AWS\n"
    "MSc Computer Science. Languages: English, Mandarin."
)


def b64(text: str) -> str:
    """Base64 of UTF-8 text, as SuccessFactors carries attachment content."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
