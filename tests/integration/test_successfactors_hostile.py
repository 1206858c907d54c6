"""The SuccessFactors connector against a sandbox that plays a hostile or broken server.

``sandbox.next_link`` rewrites every ``__next`` the sandbox sends (to itself, into a cycle, to
another origin); sandbox faults pad, trickle or rewrite a page. Each hostile hook stops after a
bounded number of pages, so a client without the defences fails the test instead of hanging it.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from connectors.errors import CrossOriginError, LimitExceeded, MalformedResponseError
from connectors.http import Limits, OriginPolicy
from sandbox.successfactors import SuccessFactorsSandbox
from tests.factories.hostile import LoopbackServer, Reply, odata_page
from tests.factories.successfactors import sandbox_connector

PAGES = "/odata/v2/JobApplication$"


def at_most(times: int, rewrite: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """``rewrite`` for the first ``times`` links, then no link: the hostile server ends, eventually."""
    calls = {"n": 0}

    def hook(link: str) -> str | None:
        calls["n"] += 1
        return rewrite(link) if calls["n"] <= times else None

    return hook


def read(sandbox: SuccessFactorsSandbox, page_size: int = 30, **kwargs: object) -> list[list[dict]]:
    connector = sandbox_connector(sandbox, page_size=page_size, **kwargs)
    try:
        return list(connector.read_pages("JobApplication"))
    finally:
        connector.close()


@pytest.fixture
def foreign() -> Iterator[LoopbackServer]:
    with LoopbackServer({"/odata/v2/JobApplication": Reply(body=odata_page([]))}) as server:
        yield server


def test_next_link_to_another_port_never_receives_the_password(sf_sandbox: SuccessFactorsSandbox,
                                                                foreign: LoopbackServer) -> None:
    sf_sandbox.next_link = at_most(50, lambda link: link.replace(sf_sandbox.url, foreign.url))
    with pytest.raises(CrossOriginError, match=f"link to {foreign.url}"):
        read(sf_sandbox)
    assert foreign.seen == []


def test_with_anonymous_foreign_links_the_other_port_gets_no_authorization(sf_sandbox: SuccessFactorsSandbox,
                                                                           foreign: LoopbackServer) -> None:
    sf_sandbox.next_link = at_most(1, lambda link: link.replace(sf_sandbox.url, foreign.url))
    pages = read(sf_sandbox, origin_policy=OriginPolicy("anonymous"))
    assert len(pages) == 2 and len(foreign.seen) == 1 and foreign.seen[0].authorization is None


def test_a_next_link_to_itself_stops_after_one_page_not_1325(sf_sandbox: SuccessFactorsSandbox) -> None:
    first: list[str] = []
    sf_sandbox.next_link = at_most(50, lambda link: first.append(link) or first[0])
    with pytest.raises(MalformedResponseError, match="pagination loops: after page 2"):
        read(sf_sandbox)
    assert len([line for line in sf_sandbox.request_log if "/JobApplication?" in line]) == 2


def test_a_cycle_of_next_links_is_detected(sf_sandbox: SuccessFactorsSandbox) -> None:
    links: list[str] = []
    sf_sandbox.next_link = at_most(50, lambda link: links.append(link) or (links[0] if len(links) >= 3 else link))
    with pytest.raises(MalformedResponseError, match="pagination loops: after page 3"):  # 3 links back to 2
        read(sf_sandbox, page_size=20)


def test_results_that_are_not_objects_are_malformed_not_attribute_errors(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("rewrite", PAGES, find='"results": [', replace='"results": [17, ')
    with pytest.raises(MalformedResponseError, match="JobApplication page 1: record 0 is not an object: 17"):
        read(sf_sandbox)


@pytest.mark.parametrize(("replace", "message"), [
    ('"cust_aiOverallScore": NaN', "NaN and Infinity are refused"),
    ('"cust_aiOverallScore": "NaN"', "not a finite Edm.Decimal"),
    ('"cust_aiOverallScore": "-Infinity"', "not a finite Edm.Decimal"),
    ('"cust_aiOverallScore": "' + "9" * 5000 + '"', "5000 characters"),
    ('"cust_aiOverallScore": ' + "9" * 5000, "max_number_length"),
])
def test_numbers_that_no_json_file_can_hold_are_refused(sf_sandbox: SuccessFactorsSandbox, replace: str,
                                                         message: str) -> None:
    sf_sandbox.faults.add("rewrite", PAGES, find='"cust_aiOverallScore": null', replace=replace)
    with pytest.raises(MalformedResponseError, match=message):
        read(sf_sandbox)


def test_a_page_padded_to_5_mb_is_cut_off_at_a_1_mb_bound(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("oversize", PAGES, size=5 * 1024 * 1024)
    connector = sandbox_connector(sf_sandbox, page_size=30, limits=Limits(max_body_bytes=1024 * 1024))
    connector.field_types("JobApplication")  # $metadata first, outside the measurement
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded, match="max_body_bytes=1048576"):
            list(connector.read_pages("JobApplication"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        connector.close()
    assert peak < 3 * 1024 * 1024


def test_a_trickled_page_cannot_keep_the_read_alive(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("trickle", PAGES, delay=0.05)
    with pytest.raises(LimitExceeded, match="request_budget=0.5"):
        read(sf_sandbox, limits=Limits(request_budget=0.5))
    assert ("trickle", "/odata/v2/JobApplication") in sf_sandbox.faults.fired


def test_a_metadata_document_with_a_dtd_is_refused(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("rewrite", r"/\$metadata$", find="<edmx:Edmx",
                          replace='<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><edmx:Edmx')
    with pytest.raises(MalformedResponseError, match=r"JobApplication/\$metadata: \$metadata declares a DTD"):
        read(sf_sandbox)


def test_pages_and_records_per_run_are_capped(sf_sandbox: SuccessFactorsSandbox) -> None:
    with pytest.raises(LimitExceeded, match="max_pages=2"):
        read(sf_sandbox, limits=Limits(max_pages=2))
    with pytest.raises(LimitExceeded, match="max_records=50"):
        read(sf_sandbox, limits=Limits(max_records=50))
    assert len(read(sf_sandbox, limits=Limits(max_pages=3, max_records=80))) == 3
