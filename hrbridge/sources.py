"""Which HR sources feed candidate_sync, and how each is built from its config and credentials.

A run reads one source or several into one hub: ``hrbridge sync candidates --source NAME`` (repeat
the option for several) or ``HRBRIDGE_SYNC_SOURCES=successfactors,greenhouse``; the default is
``successfactors``. Each source other than the default one has ``configs/sources/<name>.yaml``:

```yaml
kind: greenhouse                 # successfactors | sap_hcm | greenhouse | rest
mapping: mappings/greenhouse     # its YAML mapping into the canonical model
key_prefix: "greenhouse:"        # hub keys of this source (default "<name>:"; "" only for successfactors)
write_back: {entity: applications, key_field: application_id, fields: {...}}
```

``successfactors`` needs no file: ``configs/candidate_sync.yaml`` holds its mapping and
write-back. Credentials never live in these files: they come from the environment (or an Airflow
Connection, through the provider's builder).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from connectors.source import SourceKeys, SourceSystem
from hrbridge.pipelines.candidate_sync import SyncConfig, SyncSource
from hrbridge.settings import ConfigError, Settings, load_config

DEFAULT_SOURCE = "successfactors"
KINDS = ("successfactors", "sap_hcm", "greenhouse", "rest")
SOURCES_ENV = "HRBRIDGE_SYNC_SOURCES"

Builder = Callable[[str, Mapping[str, Any], SyncConfig], SourceSystem]


def sync_source_names(names: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> list[str]:
    """The sources of a run: ``names`` when given, else ``HRBRIDGE_SYNC_SOURCES``, else successfactors."""
    env = os.environ if env is None else env
    chosen = list(names or []) or [n.strip() for n in (env.get(SOURCES_ENV) or "").split(",") if n.strip()]
    chosen = chosen or [DEFAULT_SOURCE]
    if len(set(chosen)) != len(chosen):
        raise ConfigError(f"sources named twice: {', '.join(chosen)}")
    return chosen


def source_document(name: str, settings: Settings | None = None) -> dict[str, Any]:
    """``configs/sources/<name>.yaml`` (empty for successfactors without one); ConfigError names the file."""
    try:
        doc = load_config(f"sources/{name}", settings)
    except ConfigError:
        if name == DEFAULT_SOURCE:
            return {"kind": DEFAULT_SOURCE}
        raise ConfigError(f"unknown source {name!r}: configs/sources/{name}.yaml is missing "
                          f"(kinds: {', '.join(KINDS)}; see docs/sources.md)") from None
    if not isinstance(doc, Mapping):
        raise ConfigError(f"configs/sources/{name}.yaml must be a mapping")
    kind = str(doc.get("kind") or name)
    if kind not in KINDS:
        raise ConfigError(f"configs/sources/{name}.yaml: kind {kind!r} is not one of {', '.join(KINDS)}")
    return {**doc, "kind": kind}


def key_prefixes(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each source's hub key prefix; ConfigError when two could claim the same key."""
    prefixes = {name: str(doc.get("key_prefix", "" if name == DEFAULT_SOURCE else f"{name}:"))
                for name, doc in docs.items()}
    clashes = [(a, b) for a in prefixes for b in prefixes
               if a != b and prefixes[a] and prefixes[b] and prefixes[a].startswith(prefixes[b])]
    empty = [name for name, prefix in prefixes.items() if not prefix]
    if len(empty) > 1 or clashes:
        pair = clashes[0] if clashes else tuple(empty[:2])
        raise ConfigError(f"sources {pair[0]} and {pair[1]} would share hub keys: give each its own key_prefix")
    return prefixes


def build_from_env(name: str, doc: Mapping[str, Any], config: SyncConfig, env: Mapping[str, str] | None = None
                   ) -> SourceSystem:
    """The source system of kind ``doc['kind']`` with credentials from the environment."""
    env = os.environ if env is None else env
    kind = doc.get("kind", name)
    if kind == "successfactors":
        from hrbridge.connections import successfactors_from_env

        return successfactors_from_env(env, rate_limit=config.sf_rate_limit, page_size=config.page_size)
    if kind == "sap_hcm":
        from hrbridge.source_builders import sap_hcm_from_env

        return sap_hcm_from_env(doc, env)
    if kind == "greenhouse":
        from hrbridge.source_builders import greenhouse_from_env

        return greenhouse_from_env(doc, env)
    from hrbridge.source_builders import rest_from_env

    return rest_from_env(name, doc, env)


def sync_sources(
    config: SyncConfig, names: Sequence[str] | None = None, settings: Settings | None = None,
    build: Builder = build_from_env,
) -> list[SyncSource]:
    """The run's sources, each with its config overlay and key qualifier (built by ``build``)."""
    chosen = sync_source_names(names)
    docs = {name: source_document(name, settings) for name in chosen}
    prefixes = key_prefixes(docs)
    sources = []
    for name in chosen:
        doc = docs[name]
        own_config = config.for_source(doc, settings) if set(doc) - {"kind", "key_prefix"} else config
        system = build(name, doc, own_config)
        system.name = name  # its streams' positions are kept under this name
        others = tuple(p for n, p in prefixes.items() if n != name)
        sources.append(SyncSource(system, own_config, SourceKeys(prefixes[name], others)))
    return sources


class WriteBackRouter:
    """The write-back target of the other loops (interview results, statuses) when several sources feed the hub.

    Records arrive keyed by hub application ids with the default source's field names (the
    ``writeback``/``status`` fields of ``configs/interview_results.yaml``); each goes to the source
    that owns its key, without the key's qualifier, to that source's own write-back entity and key
    field, its fields renamed by the source's ``results_fields`` (e.g. ``cust_aiOverallScore:
    {field: ai_overall_score, type: number}``; fields it does not name are not sent there). Results come back per record
    under the hub's keys.
    """

    name = "router"

    def __init__(self, sources: Sequence[SyncSource], results_fields: Mapping[str, Mapping[str, str]]) -> None:
        self.sources = list(sources)
        self.results_fields = {name: dict(fields) for name, fields in results_fields.items()}

    def upsert(self, entity: str, records: list[dict[str, Any]], key_field: str) -> Any:
        """Split ``records`` by owning source, translate, write, and merge the per-record results."""
        from connectors.source import WriteBackResult

        result = WriteBackResult()
        for source in self.sources:
            mine = [r for r in records if source.keys.owns(str(r.get(key_field)))]
            if not mine:
                continue
            renames = self.results_fields.get(source.name)
            if renames is None:  # the default source: its own field names already
                part = source.system.upsert(entity, mine, key_field)
                result.ok.extend(part.ok)
                result.failed.extend(part.failed)
                continue
            target_key = source.config.write_back_key
            sent = [{target_key: _source_key(source.keys.local(str(r[key_field]))),
                     **dict(_renamed(renames[k], v) for k, v in r.items() if k in renames)} for r in mine]
            part = source.system.upsert(source.config.write_back_entity, sent, target_key)
            result.ok.extend(source.keys.qualify(k) for k in part.ok)
            result.failed.extend((source.keys.qualify(k), message) for k, message in part.failed)
        return result

    def close(self) -> None:
        """Close every source that can be closed."""
        for source in self.sources:
            close = getattr(source.system, "close", None)
            if close:
                close()


def _renamed(target: Any, value: Any) -> tuple[str, Any]:
    """``(field, value)`` for a ``results_fields`` entry: a field name, or ``{field, type: number|text}``."""
    if not isinstance(target, Mapping):
        return str(target), value
    kind = target.get("type", "text")
    if kind == "number" and value not in (None, ""):
        return str(target["field"]), float(value)
    return str(target["field"]), None if value is None else str(value) if kind == "text" else value


def _source_key(key: str) -> Any:
    return int(key) if key.isdigit() else key


def results_target(settings: Settings | None = None, build: Builder = build_from_env,
                   default: Callable[[], Any] | None = None) -> Any:
    """The write-back target of interview results: ``default()`` (SuccessFactors) when it is the only source,
    else a router over the sources ``HRBRIDGE_SYNC_SOURCES`` names."""
    from hrbridge.pipelines.candidate_sync import load_sync_config

    names = sync_source_names()
    if names == [DEFAULT_SOURCE] and default is not None:
        return default()
    config = load_sync_config(settings)
    sources = sync_sources(config, names, settings, build)
    fields = {s.name: source_document(s.name, settings).get("results_fields") or {}
              for s in sources if s.name != DEFAULT_SOURCE}
    return WriteBackRouter(sources, fields)
