"""The candidates page shows no AI score of an alternative process, nor lets HR correct one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store.consent import consent_events
from hrbridge.store.recruiting import candidates
from plugins.hrbridge_pages.access import Viewer
from plugins.hrbridge_pages.pages.candidates import candidate_view, correct_score, latest_scores
from tests.factories.results import NOW, hub_application, hub_result


def test_scores_stored_before_an_alternative_process_request_are_not_shown_or_corrected(hrbridge_home) -> None:
    hub = hub_engine(load_settings())
    hub_application(hub, "9001", "C-91", email=None)
    hub_application(hub, "9002", "C-92", email=None)
    hub_result(hub, "R-91", "9001", "C-91", score=91)
    hub_result(hub, "R-92", "9002", "C-92", score=70)
    with hub.begin() as conn:
        conn.execute(candidates.update().values(phone=None))  # no contact to open: the page reads scores here
    with hub.begin() as conn:  # the candidate asks for another process after the result was stored
        conn.execute(consent_events.insert().values(
            event_id="E-91", kind="alternative_process", candidate_id="C-91", application_id="9001", scopes=[],
            declined=[], given_at=NOW + timedelta(days=1), received_at=NOW + timedelta(days=1)))

    assert latest_scores(["C-91", "C-92"]) == {"C-92": pytest.approx(70)}
    hr = Viewer("hr.demo", "hr_specialist")
    assert candidate_view(hr, "C-91")["results"] == []
    assert [r["result_id"] for r in candidate_view(hr, "C-92")["results"]] == ["R-92"]
    with pytest.raises(LookupError):
        correct_score(hr, "C-91", "R-91", 50, "typo")
