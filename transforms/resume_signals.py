"""Pull question-plan signals out of resume text, in Chinese and English.

Finds years of experience (stated outright, or summed from dated work periods), skills from a
vocabulary (aliases in both languages), spoken languages and the highest education level. Pure
functions: the caller decodes the attachment and passes text.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from datetime import date
from functools import lru_cache

from transforms.canonical import ResumeSignals

# canonical skill → aliases (lower-case; matched on word boundaries for Latin text)
DEFAULT_SKILLS: dict[str, tuple[str, ...]] = {
    "python": ("python",),
    "java": ("java",),
    "sql": ("sql", "mysql", "postgresql", "数据库"),
    "javascript": ("javascript", "typescript", "react", "vue"),
    "cloud": ("aws", "azure", "kubernetes", "docker", "云计算"),
    "machine_learning": ("machine learning", "deep learning", "机器学习", "深度学习"),
    "negotiation": ("negotiation", "negotiating", "谈判"),
    "key_accounts": ("key account", "key accounts", "大客户", "客户关系", "crm", "salesforce"),
    "b2b_sales": ("b2b", "business development", "销售", "商务拓展"),
    "customer_service": ("customer service", "customer support", "customer empathy", "zendesk", "客服", "客户服务"),
    "data_engineering": ("airflow", "spark", "etl", "data pipeline", "数据仓库"),
    "accounting": ("accounting", "ifrs", "gaap", "cpa", "会计", "财务报表"),
    "excel": ("excel",),
    "sap": ("sap",),
    "recruiting": ("recruiting", "talent acquisition", "sourcing", "interviewing", "招聘"),
    "process_improvement": ("process improvement", "lean", "six sigma", "流程优化"),
    "project_management": ("project management", "pmp", "scrum", "项目管理"),
    "team_leadership": ("team lead", "team leader", "team leadership", "coaching", "managed a team", "people management", "团队管理", "带领团队"),
    "logistics": ("logistics", "supply chain", "物流", "供应链"),
}

LANGUAGES: dict[str, tuple[str, ...]] = {
    "en": ("english", "英语", "英文", "ielts", "toefl", "cet-6", "cet6"),
    "zh": ("mandarin", "chinese", "普通话", "中文", "汉语"),
    "yue": ("cantonese", "粤语"),
    "ja": ("japanese", "日语"),
    "ko": ("korean", "韩语"),
    "de": ("german", "德语"),
    "fr": ("french", "法语"),
    "es": ("spanish", "西班牙语"),
}

# highest first
EDUCATION_LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("doctorate", ("phd", "ph.d", "doctor of", "doctorate", "博士")),
    ("master", ("master", "msc", "m.sc", "mba", "硕士", "研究生")),
    ("bachelor", ("bachelor", "b.sc", "bsc", "b.a.", "本科", "学士")),
    ("associate", ("associate degree", "diploma", "大专", "专科")),
    ("secondary", ("high school", "高中", "中专")),
)

_NUM = r"(\d{1,2}(?:\.\d)?)"
_STATED_YEARS = (
    re.compile(_NUM + r"\s*\+?\s*(?:years?|yrs?)(?:\s+of)?(?:\s+\w+){0,3}?\s+experience", re.I),
    re.compile(r"experience\s*(?:of|:)?\s*" + _NUM + r"\s*\+?\s*(?:years?|yrs?)", re.I),
    re.compile(r"years?\s+of\s+(?:\w+\s+)?experience\s*[:：]\s*" + _NUM, re.I),
    re.compile(_NUM + r"\s*年以上?(?:的)?(?:\S{0,6})?(?:工作)?经验"),
    re.compile(r"(?:工作)?经验[:：\s]*" + _NUM + r"\s*年"),
    re.compile(r"工作年限[:：\s]*" + _NUM + r"\s*年"),
)
_PERIOD = re.compile(
    r"((?:19|20)\d{2})(?:[./年-]\s*(\d{1,2})月?)?\s*(?:-|–|—|~|至|to)\s*"
    r"((?:19|20)\d{2}|present|now|today|current|至今|今)(?:[./年-]\s*(\d{1,2})月?)?",
    re.I,
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def decode_resume(content: str | bytes | None) -> str:
    """Text of a resume attachment: base64 is decoded; bytes become UTF-8 text (invalid bytes dropped)."""
    if content is None:
        return ""
    raw: bytes
    if isinstance(content, str):
        compact = content.strip()
        try:
            raw = base64.b64decode(compact, validate=True) if compact else b""
        except (binascii.Error, ValueError):
            return content
    else:
        raw = content
    return raw.decode("utf-8", errors="ignore")


@lru_cache(maxsize=32)
def _matcher(vocabulary: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One compiled alternation for a whole vocabulary (Latin aliases on word boundaries)."""
    owner: dict[str, str] = {}
    for name, aliases in vocabulary:
        for alias in aliases:
            owner.setdefault(alias.lower(), name)
    ordered = sorted(owner, key=len, reverse=True)
    latin = [re.escape(a) for a in ordered if not _CJK.search(a)]
    cjk = [re.escape(a) for a in ordered if _CJK.search(a)]
    parts = []
    if latin:
        parts.append(r"(?<![a-z0-9])(?:" + "|".join(latin) + r")(?![a-z0-9])")
    if cjk:
        parts.append("|".join(cjk))
    return re.compile("|".join(parts) or r"(?!x)x"), owner


def _freeze(vocabulary: Mapping[str, Sequence[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((name, tuple(aliases)) for name, aliases in vocabulary.items())


def years_of_experience(text: str, today: date | None = None) -> float | None:
    """Years of experience: the largest stated figure, else the merged length of dated work periods."""
    stated = [float(m.group(1)) for pattern in _STATED_YEARS for m in pattern.finditer(text)]
    if stated:
        return max(stated)
    today = today or date.today()
    months: set[int] = set()
    for match in _PERIOD.finditer(text):
        start = int(match.group(1)) * 12 + (int(match.group(2) or 1) - 1)
        end_token = match.group(3)
        if end_token.isdigit():
            end = int(end_token) * 12 + (int(match.group(4) or 12) - 1)
        else:
            end = today.year * 12 + today.month - 1
        if start <= end <= today.year * 12 + 11 and end - start < 50 * 12:
            months.update(range(start, end + 1))
    if not months:
        return None
    return round(len(months) / 12, 1)


def find_terms(text: str, vocabulary: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Canonical names (sorted) of every vocabulary entry with an alias in ``text``."""
    pattern, owner = _matcher(_freeze(vocabulary))
    return tuple(sorted({owner[m.group(0)] for m in pattern.finditer(text.lower())}))


def education_level(text: str) -> str | None:
    """The highest education level mentioned, e.g. ``master``; None when nothing matches."""
    found = set(find_terms(text, dict(EDUCATION_LEVELS)))
    return next((level for level, _ in EDUCATION_LEVELS if level in found), None)


def extract_signals(
    text: str,
    skills: Mapping[str, Sequence[str]] | None = None,
    today: date | None = None,
) -> ResumeSignals:
    """All signals of one resume text; ``skills`` overrides the default skill vocabulary."""
    if not text or not text.strip():
        return ResumeSignals()
    return ResumeSignals(
        years_experience=years_of_experience(text, today),
        skills=find_terms(text, skills or DEFAULT_SKILLS),
        languages=find_terms(text, LANGUAGES),
        education=education_level(text),
    )
