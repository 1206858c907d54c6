"""Deterministic, bilingual seed data for the SuccessFactors sandbox.

Candidates are a mix of Chinese (王伟, knownAs "Wang Wei") and English (Emily Chen) names;
requisitions span six job families with English and Chinese titles; applications sit at the
recruiting statuses a pipeline reacts to; every candidate has a resume attachment (plain text or
PDF-like bytes, base64) that states years of experience and skills in words a parser can find.
Values are plain Python (int for Edm.Int64, aware UTC datetime for dates); the sandbox encodes
them the way SuccessFactors does on the wire.
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from typing import Any

STATUSES: dict[str, int] = {
    "Applied": 2001, "Screening": 2002, "AI Interview": 2003, "Interview": 2004,
    "Offer": 2005, "Hired": 2006, "Rejected": 2007,
}
STATUS_WEIGHTS = {"Applied": 30, "Screening": 20, "AI Interview": 15, "Interview": 12, "Offer": 6, "Hired": 7, "Rejected": 10}
SEED_START = datetime(2025, 1, 6, tzinfo=UTC)
SEED_SPAN_DAYS = 330

CHINESE_SURNAMES = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
                    ("赵", "Zhao"), ("黄", "Huang"), ("周", "Zhou"), ("吴", "Wu"), ("徐", "Xu"), ("孙", "Sun")]
CHINESE_GIVEN = [("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"),
                 ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("晓明", "Xiaoming"),
                 ("思雨", "Siyu"), ("浩然", "Haoran"), ("欣怡", "Xinyi")]
ENGLISH_FIRST = ["Emily", "James", "Olivia", "Daniel", "Sophia", "Michael", "Grace", "Ryan", "Chloe", "David"]
ENGLISH_LAST = ["Chen", "Smith", "Johnson", "Brown", "Taylor", "Lee", "Walker", "Wong", "Miller", "Davis"]
CITIES = [("上海", "Shanghai", "CN"), ("北京", "Beijing", "CN"), ("深圳", "Shenzhen", "CN"), ("杭州", "Hangzhou", "CN"),
          ("Singapore", "Singapore", "SG"), ("London", "London", "GB"), ("New York", "New York", "US")]

JOB_FAMILIES: dict[str, list[tuple[str, str, list[str]]]] = {
    "Sales": [("Account Executive", "客户经理", ["negotiation", "CRM", "B2B sales", "Salesforce"]),
              ("Sales Manager", "销售经理", ["team leadership", "forecasting", "key accounts", "negotiation"])],
    "Engineering": [("Backend Engineer", "后端工程师", ["Python", "SQL", "Kubernetes", "REST APIs"]),
                    ("Data Engineer", "数据工程师", ["Python", "Airflow", "Spark", "SQL"])],
    "Customer Service": [("Customer Service Representative", "客服专员", ["customer empathy", "Zendesk", "Mandarin", "English"]),
                         ("Service Team Lead", "客服主管", ["coaching", "SLA management", "escalations", "Zendesk"])],
    "Finance": [("Financial Analyst", "财务分析师", ["Excel", "financial modelling", "IFRS", "SAP FI"]),
                ("Accountant", "会计", ["bookkeeping", "tax", "SAP FI", "reconciliation"])],
    "HR": [("HR Business Partner", "人力资源业务伙伴", ["employee relations", "talent management", "labour law", "coaching"]),
           ("Recruiter", "招聘专员", ["sourcing", "interviewing", "SuccessFactors", "employer branding"])],
    "Operations": [("Operations Manager", "运营经理", ["process improvement", "Lean", "supply chain", "KPI reporting"]),
                   ("Logistics Coordinator", "物流协调员", ["logistics", "inventory", "Excel", "vendor management"])],
}


def seed_time(rng: random.Random) -> datetime:
    """A deterministic UTC instant inside the seed window, with millisecond precision."""
    offset = rng.randrange(SEED_SPAN_DAYS * 86_400_000)
    return SEED_START + timedelta(milliseconds=offset)


def requisitions(rng: random.Random) -> list[dict[str, Any]]:
    """One requisition per job title (12), across the six job families."""
    rows = []
    req_id = 301
    for family, titles in JOB_FAMILIES.items():
        for title_en, title_zh, skills in titles:
            local, city, country = rng.choice(CITIES)
            created = seed_time(rng)
            rows.append({
                "jobReqId": req_id, "templateId": 41, "appTemplateId": 51, "statusSetId": 61,
                "jobCode": f"{family[:3].upper()}-{req_id}", "function": family, "department": family,
                "jobRole": title_en, "cust_jobTitleLocal": title_zh, "cust_requiredSkills": ", ".join(skills),
                "city": city, "country": country, "location": local, "internalStatus": "Approved",
                "numberOpenings": float(rng.randint(1, 4)), "isDraft": False, "deleted": "Not Deleted",
                "defaultLanguage": "zh_CN" if country == "CN" else "en_US", "currency": "CNY" if country == "CN" else "USD",
                "createdDateTime": created, "lastModifiedDateTime": created + timedelta(days=rng.randint(0, 20)),
                "lastModifiedBy": "sfadmin", "lastModifiedProxyUserId": "", "jobReqGUId": f"JR{req_id:06d}",
                "positionNumber": f"POS{req_id:05d}", "reverseScale": "false", "overallScaleName": "Default",
                "assessRatingScaleName": "Default", "templateType": "REQUISITION",
            })
            req_id += 1
    return rows


def candidate(rng: random.Random, candidate_id: int) -> dict[str, Any]:
    """One candidate; about half carry Chinese names (with a pinyin ``knownAs`` kept on applications)."""
    local_city, city, country = rng.choice(CITIES)
    if rng.random() < 0.5:
        (last, last_py), (first, first_py) = rng.choice(CHINESE_SURNAMES), rng.choice(CHINESE_GIVEN)
        known_as, locale = f"{last_py} {first_py}", "zh_CN"
        email = f"{first_py.lower()}.{last_py.lower()}{candidate_id}@example.cn"
        phone = f"+86 13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
    else:
        first, last = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST)
        known_as, locale = f"{first} {last}", "en_US"
        email = f"{first.lower()}.{last.lower()}{candidate_id}@example.com"
        phone = f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    created = seed_time(rng)
    return {
        "candidateId": candidate_id, "firstName": first, "lastName": last, "middleName": None,
        "primaryEmail": email, "contactEmail": email, "cellPhone": phone, "homePhone": None,
        "city": local_city if country == "CN" else city, "country": country, "zip": f"{rng.randint(10000, 99999)}",
        "address": None, "address2": None, "candidateLocale": locale, "currentTitle": None,
        "externalCandidate": True, "anonymized": "0", "shareProfile": "public", "usersSysId": None,
        "partnerSource": 0, "dataPrivacyId": 0, "agreeToPrivacyStatement": "1",
        "creationDateTime": created, "lastModifiedDateTime": created + timedelta(hours=rng.randint(0, 200)),
        "privacyAcceptDateTime": created, "_knownAs": known_as,
    }


def resume(rng: random.Random, attachment_id: int, cand: dict[str, Any], title: tuple[str, str, list[str]]) -> dict[str, Any]:
    """A resume attachment: text or PDF-like bytes stating experience years and skills, base64 encoded."""
    title_en, title_zh, skills = title
    years = rng.randint(0, 15)
    chosen = rng.sample(skills, k=min(len(skills), rng.randint(2, 4)))
    name = f"{cand['lastName']}{cand['firstName']}" if cand["candidateLocale"] == "zh_CN" else f"{cand['firstName']} {cand['lastName']}"
    lines = [name, f"{title_en} / {title_zh}", f"Years of experience: {years}", f"工作经验：{years}年",
             f"Skills: {', '.join(chosen)}", f"技能：{'、'.join(chosen)}", f"Email: {cand['primaryEmail']}"]
    text = "\n".join(lines) + "\n"
    if rng.random() < 0.4:
        body = "".join(f"({line}) Tj T*\n" for line in lines)
        content = ("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nstream\nBT /F1 11 Tf\n" + body
                   + "ET\nendstream\n%%EOF\n").encode("utf-8")
        mime, ext = "application/pdf", "pdf"
    else:
        content, mime, ext = text.encode("utf-8"), "text/plain", "txt"
    created = cand["creationDateTime"]
    return {
        "attachmentId": attachment_id, "fileName": f"resume_{cand['candidateId']}.{ext}", "fileExtension": ext,
        "mimeType": mime, "fileSize": len(content), "fileContent": base64.b64encode(content).decode("ascii"),
        "module": "RECRUITING", "documentCategory": "RESUME", "documentEntityType": "Candidate",
        "documentEntityId": str(cand["candidateId"]), "description": f"Resume ({years} years, {title_en})",
        "createdDateTime": created, "lastModifiedDateTime": created,
    }


def application(
    rng: random.Random, application_id: int, cand: dict[str, Any], req: dict[str, Any], status: str | None = None,
    when: datetime | None = None,
) -> dict[str, Any]:
    """One application of ``cand`` to ``req`` at ``status`` (weighted random when None)."""
    if status is None:
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    applied = when or seed_time(rng)
    modified = applied if when else applied + timedelta(hours=rng.randint(1, 400), milliseconds=rng.randint(0, 999))
    hired = status == "Hired"
    return {
        "applicationId": application_id, "candidateId": cand["candidateId"], "jobReqId": req["jobReqId"],
        "applicationTemplateId": 51, "firstName": cand["firstName"], "lastName": cand["lastName"],
        "middleName": None, "knownAs": cand["_knownAs"], "contactEmail": cand["contactEmail"],
        "cellPhone": cand["cellPhone"], "city": cand["city"], "country": cand["country"],
        "countryCode": cand["country"], "appLocale": cand["candidateLocale"], "status": status,
        "appStatusSetItemId": STATUSES[status], "source": rng.choice(["Career Site", "LinkedIn", "Referral", "Agency", "Boss直聘"]),
        "sourceLabel": None, "currentTitle": None, "jobCode": req["jobCode"], "posTitle": req["jobRole"],
        "jobAppGuid": f"JA{application_id:08d}", "owner": "sfadmin", "lastModifiedBy": "sfadmin",
        "resumeUploadDate": applied, "snapShotDate": applied, "averageRating": None, "rating": None,
        "hireDate": modified if hired else None, "hiredOn": modified if hired else None,
        "startDate": (modified + timedelta(days=30)) if hired else None, "statusComments": None,
        "anonymizedFlag": "0", "duplicateProfile": "0", "formerEmployee": False,
        "lastModifiedDateTime": modified,
        "cust_aiInterviewStatus": None, "cust_aiInterviewLink": None, "cust_aiOverallScore": None,
        "cust_aiDimensionScores": None, "cust_aiKeywords": None, "cust_aiReportUrl": None, "cust_aiMatchPercent": None,
    }


def build_seed(seed: int = 7, candidates: int = 60, applications: int = 80) -> dict[str, list[dict[str, Any]]]:
    """The whole seed: JobRequisition, Candidate, Attachment (one resume each) and JobApplication rows.

    The same ``seed`` always yields the same records.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not crypto
    reqs = requisitions(rng)
    titles = {r["jobReqId"]: (r["jobRole"], r["cust_jobTitleLocal"], r["cust_requiredSkills"].split(", ")) for r in reqs}
    cands, resumes, apps = [], [], []
    for i in range(candidates):
        cand = candidate(rng, 10001 + i)
        target = rng.choice(reqs)
        cands.append(cand)
        resumes.append(resume(rng, 50001 + i, cand, titles[target["jobReqId"]]))
    for i in range(applications):
        cand = cands[i % len(cands)] if cands else candidate(rng, 10001)
        req = rng.choice(reqs)
        apps.append(application(rng, 700001 + i, cand, req))
    return {"JobRequisition": reqs, "Candidate": cands, "Attachment": resumes, "JobApplication": apps}
