"""What the conformance suite needs from each source: the system under test and a remote control of its data.

A harness starts its source (a loopback sandbox, or recorded BAPI answers), builds the connector
with fast retries, and lets the suite count, change and delete records, inject throttling and
server errors, build a connector with a wrong secret, and make one write-back record fail. The
checks themselves (tests/conformance/test_conformance.py) are generated from the connector's
declared streams, so a new source gets every check by adding a harness here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from connectors.http import RetryPolicy
from connectors.source import SourceSystem

FAST = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05, max_retry_after=0.1, total_budget=1.0)


@dataclass
class WriteBackCase:
    """A write-back of two records: ``good`` is written, ``bad`` is refused by the source."""

    entity: str
    key_field: str
    fields: dict[str, Any]
    good: Any
    bad: Any


@dataclass
class Control:
    """Remote control of one running source."""

    system: SourceSystem
    count: Callable[[str], int]
    change: Callable[[str, int], set[str]]  # bump n records of a stream, return their keys
    delete: Callable[[str], str]  # delete one record of a stream, return its key
    custom_fields: dict[str, str]  # stream -> a custom field every record carries
    write_back: Callable[[], WriteBackCase]
    bad_credentials: Callable[[], tuple[SourceSystem, str, str]] | None  # system, the secret, who it names
    inject: Callable[[str, str, int], None] | None = None  # (stream, "429"|"503", count)
    label: str = ""
    http_only: list[str] = field(default_factory=list)


@contextmanager
def successfactors() -> Iterator[Control]:
    """The SuccessFactors OData v2 sandbox."""
    from sandbox.successfactors import SuccessFactorsSandbox
    from tests.factories.successfactors import SANDBOX_PASSWORD, sandbox_connector

    with SuccessFactorsSandbox(candidates=12, applications=16, page_size=5) as box:
        sf = sandbox_connector(box, retry=FAST, page_size=7)
        sets = {name: spec.entity_set for name, spec in sf.streams.items()}
        keys = {name: spec.primary_key for name, spec in sf.streams.items()}

        def change(stream: str, n: int) -> set[str]:
            chosen = [r[keys[stream]] for r in box.records(sets[stream])][:n]
            for key in chosen:
                box.update(sets[stream], key)
            return {str(k) for k in chosen}

        def delete(stream: str) -> str:
            key = box.records(sets[stream])[-1][keys[stream]]
            box.delete(sets[stream], key)
            return str(key)

        def wrong() -> tuple[SourceSystem, str, str]:
            secret = SANDBOX_PASSWORD + "-not"
            from connectors.successfactors import SuccessFactorsConnector

            return (SuccessFactorsConnector.basic(box.url, "sfadmin", secret, "SFPART000001", retry=FAST), secret,
                    "sfadmin@SFPART000001")

        first = box.records("JobApplication")[0]["applicationId"]
        yield Control(
            sf, lambda s: box.count(sets[s]), change, delete, {"applications": "cust_aiInterviewStatus"},
            lambda: WriteBackCase("JobApplication", "applicationId", {"cust_aiInterviewStatus": "sent"}, first, 999999),
            wrong, lambda s, kind, n: box.faults.add(kind, rf"/odata/v2/{sets[s]}$", count=n, retry_after=0.01),
            "SuccessFactors")
        sf.close()


@contextmanager
def greenhouse() -> Iterator[Control]:
    """The Greenhouse Harvest v3 sandbox."""
    from sandbox.greenhouse import DEFAULT_USER_ID, GreenhouseSandbox
    from tests.factories.greenhouse import CLIENT_ID, CLIENT_SECRET, gh_connector

    kinds = {"requisitions": "jobs", "candidates": "candidates", "applications": "applications",
             "resumes": "attachments"}
    with GreenhouseSandbox(candidates=12, applications=16) as box:
        gh = gh_connector(box, retry=FAST, per_page=5)

        def change(stream: str, n: int) -> set[str]:
            chosen = [r["id"] for r in box.records(kinds[stream])][:n]
            for key in chosen:
                box.touch(kinds[stream], key)
            return {str(k) for k in chosen}

        def delete(stream: str) -> str:
            key = box.records(kinds[stream])[-1]["id"]
            box.delete(kinds[stream], key)
            return str(key)

        def wrong() -> tuple[SourceSystem, str, str]:
            from connectors.greenhouse import GreenhouseConnector

            secret = CLIENT_SECRET + "-not"
            return (GreenhouseConnector(CLIENT_ID, secret, DEFAULT_USER_ID, base_url=box.url,
                                        token_url=f"{box.url}/token", retry=FAST), secret, f"{CLIENT_ID} (user 4080)")

        victim = box.records("applications")[1]["id"]
        box.locked.add(victim)
        yield Control(
            gh, lambda s: box.count(kinds[s]), change, delete,
            {"applications": "custom_ai_interview_status", "candidates": "custom_preferred_language"},
            lambda: WriteBackCase("applications", "id", {"ai_interview_status": "sent"},
                                  box.records("applications")[0]["id"], victim),
            wrong, lambda s, kind, n: box.faults.add(kind, rf"/v3/{kinds[s]}$", count=n, retry_after=0.01),
            "Greenhouse")
        gh.close()


@contextmanager
def sap_hcm() -> Iterator[Control]:
    """SAP HCM recruitment over RFC, replaying recorded BAPI structures."""
    from tests.factories.sap_recruiting import RecordedRecruiting

    sap = RecordedRecruiting.seeded(7)
    source = sap.source()

    def count(stream: str) -> int:
        return len(sap.applicants) if stream == "candidates" else sum(len(v) for _, v in sap.applicants.values())

    def change(stream: str, n: int) -> set[str]:
        chosen = sorted(sap.applicants)[:n]
        for number in chosen:
            name, vacancies = sap.applicants[number]
            sap.applicants[number] = (name + "-Schmidt", vacancies)
        if stream == "candidates":
            return {f"{n:08d}" for n in chosen}
        return {f"{n:08d}-{vac}" for n in chosen for vac, _ in sap.applicants[n][1]}

    def delete(stream: str) -> str:
        number = max(sap.applicants)
        vacancy = sap.applicants.pop(number)[1][0][0]
        return f"{number:08d}" if stream == "candidates" else f"{number:08d}-{vacancy}"

    def write_back() -> WriteBackCase:
        good, bad = (f"{n:08d}-{sap.applicants[n][1][0][0]}" for n in sorted(sap.applicants)[:2])
        sap.refuse.add(bad)
        return WriteBackCase("applicant_status", "application_id", {"AI_STATUS": "sent"}, good, bad)

    def wrong() -> tuple[SourceSystem, str, str]:
        from connectors.sap_rfc import RfcParams, SapHcmConnector

        class LogonError(Exception):  # what pyrfc raises for a refused logon (matched by class name)
            pass

        class FakePyrfc:
            @staticmethod
            def Connection(**kwargs: Any) -> Any:  # noqa: N802 - pyrfc's name
                raise LogonError("Name or password is incorrect (repeat logon)")

        import connectors.sap_rfc as rfc

        original = rfc._import_pyrfc  # noqa: SLF001 - the SDK is absent here; play its logon refusal
        rfc._import_pyrfc = lambda: FakePyrfc  # noqa: SLF001
        secret = "rfc-secret-not"
        try:
            SapHcmConnector.connect(RfcParams("hcm.example.com", "00", "100", "RFC_HR", secret))
        except Exception as exc:  # noqa: BLE001 - handed to the check as the failure to inspect
            failure = exc
        finally:
            rfc._import_pyrfc = original  # noqa: SLF001

        class Refused:
            name = "sap_hcm"
            streams = source.streams

            def read_pages(self, *args: Any, **kwargs: Any) -> Any:
                raise failure

            read_keys = read_pages

        return Refused(), secret, "RFC_HR"  # type: ignore[return-value]

    yield Control(source, count, change, delete, {"candidates": "overall_status"}, write_back, wrong, None,
                  "SAP HCM", http_only=["retries"])


@contextmanager
def personio() -> Iterator[Control]:
    """The YAML-declared REST source (configs/sources/personio.yaml) against the Personio v2 sandbox."""
    from connectors.rest_source import RestSource
    from hrbridge.settings import load_config
    from sandbox.personio import DEFAULT_CLIENTS, PersonioSandbox

    client, secret = next(iter(DEFAULT_CLIENTS.items()))
    doc = {**load_config("sources/personio"), "paginator": {"type": "next_url", "path": "_meta.links.next.href",
                                                            "size_param": "limit", "size": 5}}
    kinds = {"requisitions": "jobs", "candidates": "candidates", "applications": "applications"}
    with PersonioSandbox(candidates=12, applications=16) as box:
        def env(secret_value: str) -> dict[str, str]:
            return {"HRBRIDGE_PERSONIO_URL": box.url, "HRBRIDGE_PERSONIO_CLIENT_ID": client,
                    "HRBRIDGE_PERSONIO_CLIENT_SECRET": secret_value}

        rest = RestSource.from_document("personio", doc, env(secret), retry=FAST)

        def change(stream: str, n: int) -> set[str]:
            chosen = sorted(r["id"] for r in box.records(kinds[stream]))[:n]
            for key in chosen:
                box.touch(kinds[stream], key)
            return set(chosen)

        def delete(stream: str) -> str:
            key = sorted(r["id"] for r in box.records(kinds[stream]))[-1]
            box.delete(kinds[stream], key)
            return key

        def wrong() -> tuple[SourceSystem, str, str]:
            return RestSource.from_document("personio", doc, env(secret + "-not"), retry=FAST), secret + "-not", client

        ids = sorted(r["id"] for r in box.records("applications"))
        box.locked.add(ids[1])
        yield Control(
            rest, lambda s: box.count(kinds[s]), change, delete, {"applications": "attribute_ai_interview_status"},
            lambda: WriteBackCase("applications", "id", {"ai_interview_status": "sent"}, ids[0], ids[1]),
            wrong, lambda s, kind, n: box.faults.add(kind, rf"/v2/recruiting/{kinds[s]}$", count=n, retry_after=0.01),
            "personio")
        rest.close()


HARNESSES: dict[str, Callable[[], Any]] = {
    "successfactors": successfactors, "greenhouse": greenhouse, "sap_hcm": sap_hcm, "personio": personio,
}
# Sources spoken over HTTP, where throttling (429) and server errors (5xx) exist; SAP HCM is RFC.
OVER_HTTP = ("successfactors", "greenhouse", "personio")
