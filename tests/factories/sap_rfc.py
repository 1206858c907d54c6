"""Recorded BAPI answers for SAP HCM over RFC, shaped like SAP's structures, and a connection that replays them.

Values are what the RFC library hands back for SAP's DDIC types: NUMC zero-padded strings
(PERNR ``00001234``), DATS ``YYYYMMDD`` strings (``00000000`` = empty), CHAR blank-padded, and
RETURN as BAPIRETURN (TYPE, CODE, MESSAGE, LOG_NO, LOG_MSG_NO, MESSAGE_V1..4), BAPIRETURN1 (TYPE,
ID, NUMBER, MESSAGE, ...) or a BAPIRET2 table (+ PARAMETER, ROW, FIELD, SYSTEM).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def pad(value: str, width: int) -> str:
    """A CHAR field as RFC returns it from a fixed-width structure: blank-padded to ``width``."""
    return value.ljust(width)


def bapireturn(msg_type: str = "", message: str = "", code: str = "") -> dict[str, str]:
    """A BAPIRETURN structure (older BAPIs, e.g. BAPI_APPLICANT_GETSTATUS); all blank means success."""
    return {"TYPE": msg_type, "CODE": code, "MESSAGE": message, "LOG_NO": "", "LOG_MSG_NO": "000000",
            "MESSAGE_V1": "", "MESSAGE_V2": "", "MESSAGE_V3": "", "MESSAGE_V4": ""}


def bapireturn1(msg_type: str = "", message: str = "", msg_id: str = "", number: str = "000") -> dict[str, str]:
    """A BAPIRETURN1 structure (BAPI_PERSDATA_GETDETAILEDLIST and friends)."""
    return {"TYPE": msg_type, "ID": msg_id, "NUMBER": number, "MESSAGE": message, "LOG_NO": "",
            "LOG_MSG_NO": "000000", "MESSAGE_V1": "", "MESSAGE_V2": "", "MESSAGE_V3": "", "MESSAGE_V4": ""}


def bapiret2(msg_type: str, message: str, msg_id: str = "PG", number: str = "000") -> dict[str, Any]:
    """One BAPIRET2 row (table-type RETURN of newer BAPIs)."""
    return {**bapireturn1(msg_type, message, msg_id, number), "PARAMETER": "", "ROW": 0, "FIELD": "",
            "SYSTEM": "HRPCLNT100"}


def pernr(number: int) -> str:
    """A personnel/applicant number as NUMC 8."""
    return f"{number:08d}"


def personal_data_row(number: int, last: str = "Meyer", first: str = "Anna", birth: str = "19900412",
                      begin: str = "20200101", end: str = "99991231", record: str = "000") -> dict[str, Any]:
    """One BAPIP0002L row (BAPI_PERSDATA_GETDETAILEDLIST, table PERSONALDATA)."""
    return {"EMPLOYEENO": pernr(number), "SUBTYPE": pad("", 4), "OBJECT_ID": pad("", 2), "LOCK_IND": " ",
            "VALIDEND": end, "VALIDBEGIN": begin, "RECORDNR": record, "LASTNAME": pad(last, 40),
            "FIRSTNAME": pad(first, 40), "NAMEATBIRTH": pad("", 40), "DATEOFBIRTH": birth, "GENDER": "2",
            "LANGUAGE": "E", "LANGUAGE_ISO": "EN", "NATIONALITY": "DE ", "MARITALSTATUS": "0"}


def persdata_answer(number: int, rows: int = 1, ret: Mapping[str, str] | None = None) -> dict[str, Any]:
    """BAPI_PERSDATA_GETDETAILEDLIST for one employee: ``rows`` validity periods, RETURN (BAPIRETURN1)."""
    periods = [personal_data_row(number, last=f"Meyer{number}", begin=f"{2020 + i}0101",
                                 end="99991231" if i == rows - 1 else f"{2020 + i}1231", record="000")
               for i in range(rows)]
    return {"RETURN": dict(ret) if ret is not None else bapireturn1(), "PERSONALDATA": periods}


def employee_answer(number: int, ret: Mapping[str, str] | None = None) -> dict[str, Any]:
    """BAPI_EMPLOYEE_GETDATA for one personnel number: PERSONAL_DATA (BAPIP0002B) + ORG_ASSIGNMENT (BAPIP0001B)."""
    return {
        "RETURN": dict(ret) if ret is not None else bapireturn(),
        "PERSONAL_DATA": [{"PERNR": pernr(number), "FROM_DATE": "20210301", "TO_DATE": "99991231",
                           "LAST_NAME": pad(f"Schmidt{number}", 40), "FIRSTNAME": pad("Lena", 40),
                           "BIRTHDATE": "00000000", "NATIONAL": "DE ", "LANGU_ISO": "DE"}],
        "ORG_ASSIGNMENT": [{"PERNR": pernr(number), "FROM_DATE": "20210301", "TO_DATE": "99991231",
                            "COMP_CODE": "1000", "PERS_AREA": "1000", "ORG_UNIT": "50000590",
                            "ORGTXT": pad("Recruiting", 40), "POSITION": "50001234", "JOB": "50000100",
                            "JOBTXT": pad("HR Specialist", 40), "COSTCENTER": pad("0000004100", 10)}],
        "INTERNAL_CONTROL": [], "COMMUNICATION": [], "ARCHIVELINK": [],
    }


def employee_search_answer(numbers: list[int], ret: Mapping[str, str] | None = None) -> dict[str, Any]:
    """BAPI_EMPLOYEE_GETDATA for a search (e.g. ORG_SEARK): one PERSONAL_DATA and ORG_ASSIGNMENT row per employee."""
    answers = [employee_answer(n) for n in numbers]
    return {"RETURN": dict(ret) if ret is not None else bapireturn(),
            "PERSONAL_DATA": [row for a in answers for row in a["PERSONAL_DATA"]],
            "ORG_ASSIGNMENT": [row for a in reversed(answers) for row in a["ORG_ASSIGNMENT"]],
            "INTERNAL_CONTROL": [], "COMMUNICATION": [], "ARCHIVELINK": []}


def applicant_status_answer(number: int, vacancies: tuple[tuple[str, str], ...] = (("50000123", "2"),),
                            ret: Mapping[str, str] | None = None) -> dict[str, Any]:
    """BAPI_APPLICANT_GETSTATUS: overall status exports + VACANCY_STATUS rows (vacancy, status)."""
    return {
        "RETURN": dict(ret) if ret is not None else bapireturn(),
        "STATUS": "2", "APP_STATUS": pad("in process", 20), "F_O_A_ATT": pad("Ms", 20),
        "NAME": pad(f"Applicant {number}", 40),
        "VACANCY_STATUS": [{"TY_VACANCY": "S ", "VACANCY": vac, "VA_STATUS": status,
                            "VA_STATUS_TEXT": pad("in process", 20)} for vac, status in vacancies],
    }


Answer = dict[str, Any] | Callable[..., dict[str, Any]] | Exception


class RecordedConnection:
    """Replays recorded BAPI answers through the ``pyrfc.Connection.call`` interface.

    ``answers[(function, key)]`` (or ``answers[function]`` for any key) is a dict, a callable taking
    the call's parameters, or an exception to raise. Every call is kept in ``calls``.
    """

    def __init__(self, answers: Mapping[Any, Answer], key_params: tuple[str, ...] = (
            "EMPLOYEE_ID", "EMPLOYEENUMBER", "APPLICANTNUMBER")) -> None:
        self.answers = dict(answers)
        self.key_params = key_params
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.closed = False

    def call(self, func_name: str, **params: Any) -> dict[str, Any]:
        """Answer like the recorded system; KeyError when nothing was recorded for the call."""
        self.calls.append((func_name, params))
        key = next((params[p] for p in self.key_params if p in params), None)
        answer = self.answers.get((func_name, key), self.answers.get(func_name))
        if answer is None:
            raise KeyError(f"no recorded answer for {func_name} {key}")
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(**params)
        return answer

    def close(self) -> None:
        """Mark the connection closed."""
        self.closed = True
