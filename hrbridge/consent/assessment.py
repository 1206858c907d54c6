"""The PIPIA / DPIA working record, generated from the configuration (``hrbridge privacy assessment``).

The record joins ``configs/privacy.yaml`` (controller, purposes and legal bases, sensitive fields,
recipients and cross-border flags) with what the other files declare: the personal fields read from
the HR system (the field mapping), the hub columns each role may see and which are encrypted
(``roles.yaml``), where each category lives and for how long (``retention.yaml``), the notice and
consent scopes and the fields AI outputs may reach (``consent.yaml``), and the bias-audit categories
(``bias_audit.yaml``). Each generated record is kept in the artefact store; when the configuration
changed since the last one, the new record is stored and the difference shown, for the
data-protection officer to sign.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hrbridge.settings import Settings, load_config, load_settings

KIND = "privacy-assessment"
PERSON_ENTITIES = ("candidate", "application", "resume")


def mapping_names(settings: Settings) -> list[str]:
    """The field mappings of every candidate_sync source: the default one and ``configs/sources/*.yaml``."""
    names = [str(load_config("candidate_sync", settings).get("mapping", "mappings/successfactors"))]
    for path in sorted((settings.configs_dir / "sources").glob("*.yaml")):
        mapping = (load_config(f"sources/{path.stem}", settings) or {}).get("mapping")
        if mapping and str(mapping) not in names:
            names.append(str(mapping))
    return names


def _mapping_fields(settings: Settings) -> list[dict[str, Any]]:
    fields = []
    for mapping_name in mapping_names(settings):
        fields += _fields_of(load_config(mapping_name, settings))
    return fields


def _fields_of(mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
    system = str(mapping.get("source", "hr_system"))
    fields = []
    for name, stream in (mapping.get("streams") or {}).items():
        if stream.get("entity") not in PERSON_ENTITIES:
            continue
        for field, source in (stream.get("fields") or {}).items():
            source = source.get("source") if isinstance(source, Mapping) else source
            fields.append({"field": str(field), "where": f"{system} {stream.get('stream', name)}.{source}",
                           "stored_in": f"hub {name}"})
    return fields


def build_record(settings: Settings | None = None) -> dict[str, Any]:
    """The working record as data (deterministic for a given configuration)."""
    from governance.access import Policy
    from hrbridge.consent.config import load_consent_config
    from hrbridge.pipelines.bias_audit import BiasConfig
    from hrbridge.pipelines.retention import retention_config

    settings = settings or load_settings()
    privacy = load_config("privacy", settings)
    sensitive = {str(k): str(v) for k, v in (privacy.get("sensitive") or {}).items()}
    retention = retention_config(settings)
    policy = Policy.from_yaml(settings.configs_dir / "roles.yaml")
    consent = load_consent_config(settings)
    bias = BiasConfig.load(settings)
    category_of = {}
    for spec in retention.stores:
        category_of.setdefault(spec.table, []).append(spec.category)
    inventory = _mapping_fields(settings)
    for resource in sorted(policy.resources.values(), key=lambda r: r.name):
        table = policy.tables.get(resource.table or "")
        if table is None or not table.subject_column:
            continue
        for column in ([] if resource.all_columns else resource.columns):
            inventory.append({"field": column, "where": f"hub {resource.table}.{column}", "stored_in": resource.name,
                              "encrypted": column in resource.encrypted})
    inventory += [{"field": c, "where": "hub audit_categories.categories (sealed)", "stored_in": "hub audit_categories",
                   "encrypted": True, "sensitive": sensitive.get(c) or "bias-audit category"} for c in bias.categories]
    for item in inventory:
        where = item["where"] if item["where"].startswith("hub ") else item["stored_in"]
        table = where.split()[1].split(".")[0] if where.startswith("hub ") else None
        item["sensitive"] = item.get("sensitive") or sensitive.get(item["field"])
        item["categories"] = category_of.get(table, []) if table else []
        item.setdefault("encrypted", False)
    policies = [{"name": p.name, "categories": list(p.categories), "retention_days": p.retention_days,
                 "action": p.action, "legal_basis": p.legal_basis} for p in retention.policies]
    return {
        "controller": privacy.get("controller"), "dpo": privacy.get("dpo"),
        "purposes": privacy.get("purposes") or [],
        "inventory": inventory,
        "stores": [{"category": s.category, "store": s.store, "table": s.table, "on_request": s.on_request}
                   for s in retention.stores],
        "retention": policies,
        "requests": {"due_days": retention.requests.due_days, "crypto_shred": retention.requests.crypto_shred,
                     "external": list(retention.requests.external)},
        "recipients": privacy.get("recipients") or [],
        "cross_border": [r["name"] for r in privacy.get("recipients") or [] if r.get("cross_border")],
        "safeguards": {
            "encryption": sorted({i["where"] for i in inventory if i["encrypted"]}),
            "roles": {name: policy.grants_of(name) for name in sorted(policy.roles)},
            "consent": {"notice_version": consent.notice_version, "withdrawal": dict(consent.withdrawal),
                        "ai_fields": {k: v for k, v in sorted(consent.fields.items())}},
            "bias_audit": {"categories": list(bias.categories), "floor": bias.floor, "min_share": bias.min_share,
                           "role": bias.role},
            "audit": "deletions logged in a hash-chained, signed deletion log (hrbridge audit verify)",
        },
    }


def fingerprint(record: Mapping[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON: equal for equal configurations."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def render(record: Mapping[str, Any], generated_at: str) -> str:
    """The record as Markdown, headings in Chinese and English, with a place to sign."""
    lines = ["# 个人信息保护影响评估 / Personal-information impact assessment (PIPIA, GDPR DPIA)", "",
             f"Controller: {record['controller']}  ", f"DPO: {record['dpo']}  ",
             f"Generated {generated_at} from the configuration, fingerprint {fingerprint(record)[:16]}", "",
             "## 处理目的与法律依据 / Purposes and legal bases", ""]
    lines += [f"- **{p['name']}**: {p['description']} - {p['legal_basis']} (categories: {', '.join(p['categories'])})"
              for p in record["purposes"]]
    lines += ["", "## 数据清单 / Data inventory", "", "| field | where | sensitive | encrypted | retention categories |",
              "|---|---|---|---|---|"]
    lines += [f"| {i['field']} | {i['where']} | {i['sensitive'] or 'no'} | {'yes' if i['encrypted'] else 'no'} | "
              f"{', '.join(i['categories']) or '-'} |" for i in record["inventory"]]
    lines += ["", "## 存储位置 / Where personal data is kept", "", "| store | table | category | on a deletion request |",
              "|---|---|---|---|"]
    lines += [f"| {t['store']} | {t['table']} | {t['category']} | {t['on_request']} |" for t in record["stores"]]
    lines += ["", "## 保存期限 / Retention per category", "", "| policy | categories | days | action | legal basis |",
              "|---|---|---:|---|---|"]
    lines += [f"| {p['name']} | {', '.join(p['categories'])} | {p['retention_days']} | {p['action']} | {p['legal_basis']} |"
              for p in record["retention"]]
    req = record["requests"]
    lines += ["", f"Deletion requests: due in {req['due_days']} days; crypto-shred {req['crypto_shred']}; "
              f"also asked of {', '.join(req['external']) or 'no other system'}.", "",
              "## 接收方与跨境 / Recipients and cross-border transfers", ""]
    lines += [f"- **{r['name']}** ({r['role']}): receives {', '.join(r['receives'])}; cross-border: "
              f"{'YES' if r.get('cross_border') else 'no'}" for r in record["recipients"]]
    safeguards = record["safeguards"]
    lines += ["", "## 保护措施 / Safeguards", "",
              f"- Encryption at rest: {', '.join(safeguards['encryption'])}",
              f"- Consent: notice {safeguards['consent']['notice_version']}; withdrawal deletes "
              + "; ".join(f"{k} → {', '.join(v)}" for k, v in safeguards["consent"]["withdrawal"].items()),
              "- AI outputs reach only: " + ", ".join(f"{k} ({v})" for k, v in safeguards["consent"]["ai_fields"].items()
                                                     if v in ("recommendation", "information")),
              f"- Bias audit: {', '.join(safeguards['bias_audit']['categories'])}; floor "
              f"{safeguards['bias_audit']['floor']}; read by {safeguards['bias_audit']['role']} only",
              f"- Audit: {safeguards['audit']}", "- Roles:"]
    lines += [f"  - {role}: " + "; ".join(f"{res} ({', '.join(acts)})" for res, acts in grants.items())
              for role, grants in safeguards["roles"].items()]
    lines += ["", "## 签署 / Sign-off", "", "Reviewed by the data-protection officer: ______________  Date: ________", ""]
    return "\n".join(lines)


def assess(settings: Settings | None = None, *, store: bool = True) -> dict[str, Any]:
    """Generate the record; store it when the configuration changed since the last stored one.

    Returns ``changed``, the new record's ``key`` (when stored), the ``previous`` key and the ``diff``
    (unified, Markdown) against it, and the Markdown ``text``.
    """
    from hrbridge.artefacts import artefact_store
    from hrbridge.migrations import SchemaError
    from hrbridge.store import hub_engine

    settings = settings or load_settings()
    record = build_record(settings)
    digest = fingerprint(record)
    try:
        artefacts = artefact_store(settings, hub_engine(settings, create=store))
        previous = [a for a in artefacts.list(KIND) if a.key.endswith(".md")]
    except SchemaError:  # a read-only check before the hub exists: nothing was recorded yet
        artefacts, previous = None, []
    last = previous[-1] if previous else None
    last_text = artefacts.get(last.key).data.decode("utf-8") if last else ""
    if last is not None and digest[:16] in last_text:
        return {"changed": False, "key": last.key, "previous": last.key, "diff": "", "text": last_text,
                "fingerprint": digest}
    now = datetime.now(UTC)
    text = render(record, now.isoformat(timespec="seconds"))
    diff = "".join(difflib.unified_diff(
        [line for line in last_text.splitlines(keepends=True) if not line.startswith("Generated ")],
        [line for line in text.splitlines(keepends=True) if not line.startswith("Generated ")],
        fromfile=last.key if last else "(none)", tofile="now"))
    key = None
    if store and artefacts is not None:
        name = f"{len(previous) + 1:05d}-{now:%Y%m%dT%H%M%S}-{digest[:12]}"  # numbered: sorts in order
        key = artefacts.put(KIND, f"{name}.md", text.encode("utf-8"), "text/markdown")
        artefacts.put(KIND, f"{name}.json", json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"),
                      "application/json")
    return {"changed": True, "key": key, "previous": last.key if last else None, "diff": diff, "text": text,
            "fingerprint": digest}
