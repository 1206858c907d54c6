"""Minimised quarantine payloads: personal values masked by field name and content, facts kept."""

from __future__ import annotations

from hrbridge.pipelines.pii import mask_value


def test_contacts_names_and_links_are_masked() -> None:
    masked = mask_value({
        "contactEmail": "li.lei@example.com", "cellPhone": "+86 138 1234 5678", "firstName": "Alice", "candidate_name": "Li Lei",
        "lastName": "王", "report_url": "https://x.example/r/abc", "clips": [{"url": "https://v/1", "second": 3}],
        "note": "call 13812345678 or mail li@x.cn",
    })
    assert masked["contactEmail"] == "l***@example.com"
    assert masked["cellPhone"].endswith("5678") and "138" not in masked["cellPhone"]
    assert masked["firstName"] == "A****" and masked["lastName"] == "*" and masked["candidate_name"] == "L*****"
    assert masked["report_url"] == "***" and masked["clips"] == [{"url": "***", "second": 3}]
    assert masked["note"] == "call *******5678 or mail l***@x.cn"


def test_facts_a_rule_is_about_stay_readable() -> None:
    value = {"applicationId": 700001, "status": None, "overall_score": 101.5, "candidate_id": "10001",
             "lastModifiedDateTime": "2025-01-02T03:04:05+00:00", "startDate": "/Date(1735787045000)/",
             "dimensions": [{"name": "communication", "score": 4.5}], "flag": True}
    assert mask_value(value) == value
