"""A recorded SAP HCM recruitment system: BAPI_APPLICANT_GETSTATUS / CHECKEXISTENCE answers built from
SAP's structures (tests/factories/sap_rfc.py), which tests change between reads, and a customer
write-back RFC that answers BAPIRET2."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.sap_hcm_source import SapHcmSource
from connectors.sap_rfc import SapHcmConnector
from tests.factories.sap_rfc import RecordedConnection, bapiret2, bapireturn, pad, pernr

WRITE_BACK_FUNCTION = "Z_HRBRIDGE_SET_AI_INTERVIEW"


@dataclass
class RecordedRecruiting:
    """Applicants (number → name, [(vacancy, status text)]) answered like SAP; ``refuse`` fails write-backs."""

    applicants: dict[int, tuple[str, list[tuple[str, str]]]] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)
    written: list[dict[str, Any]] = field(default_factory=list)
    logon_error: Exception | None = None

    @classmethod
    def seeded(cls, n: int = 6) -> RecordedRecruiting:
        """``n`` applicants, each with one vacancy; every third at status "AI Interview"."""
        return cls({1000 + i: (f"Anna Meyer{i}", [(f"{50000100 + i % 3:08d}", "AI Interview" if i % 3 == 0
                                                    else "in process")]) for i in range(n)})

    def status(self, APPLICANTNUMBER: str, **_: Any) -> dict[str, Any]:  # noqa: N803 - SAP's parameter name
        """BAPI_APPLICANT_GETSTATUS for one applicant (E when the number is unknown)."""
        if self.logon_error is not None:
            raise self.logon_error
        found = self.applicants.get(int(APPLICANTNUMBER))
        if found is None:
            return {"RETURN": bapireturn("E", f"Applicant {APPLICANTNUMBER} does not exist", "PB001")}
        name, vacancies = found
        return {"RETURN": bapireturn(), "STATUS": "2", "APP_STATUS": pad("in process", 20), "F_O_A_ATT": pad("Ms", 20),
                "NAME": pad(name, 40),
                "VACANCY_STATUS": [{"TY_VACANCY": "S ", "VACANCY": vac, "VA_STATUS": "2",
                                    "VA_STATUS_TEXT": pad(text, 20)} for vac, text in vacancies]}

    def exists(self, APPLICANTNUMBER: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        """BAPI_APPLICANT_CHECKEXISTENCE."""
        if int(APPLICANTNUMBER) in self.applicants:
            return {"RETURN": bapireturn()}
        return {"RETURN": bapireturn("E", f"Applicant {APPLICANTNUMBER} does not exist", "PB001")}

    def write(self, APPLICANTNUMBER: str, VACANCY: str, FIELDS: list[dict[str, str]]) -> dict[str, Any]:  # noqa: N803
        """The customer write-back RFC: BAPIRET2 with E for refused applicants."""
        key = f"{APPLICANTNUMBER}-{VACANCY}"
        if key in self.refuse:
            return {"RETURN": [bapiret2("E", f"Vacancy assignment {key} is locked by another user", "PB", "041")]}
        self.written.append({"key": key, **{f["FIELD"]: f["VALUE"] for f in FIELDS}})
        return {"RETURN": []}

    def source(self) -> SapHcmSource:
        """A SapHcmSource over a recorded connection answering from this state."""
        connection = RecordedConnection({"BAPI_APPLICANT_GETSTATUS": self.status,
                                         "BAPI_APPLICANT_CHECKEXISTENCE": self.exists, WRITE_BACK_FUNCTION: self.write})
        return SapHcmSource(SapHcmConnector(connection, page_size=4), lambda: [pernr(n) for n in self.applicants_asked()],
                            write_back_function=WRITE_BACK_FUNCTION)

    def applicants_asked(self) -> list[int]:
        """Numbers the recruitment report lists (every applicant ever known, deleted ones included)."""
        self._asked = sorted(set(getattr(self, "_asked", [])) | set(self.applicants))
        return self._asked
