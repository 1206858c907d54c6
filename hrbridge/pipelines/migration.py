"""Legacy migration: source → map → clean → dedupe → load → checkpoint, batch by batch, then verify.

A run has an id (default: derived from the source and target, so rerunning the same command
resumes). Each batch commits its records, logs and checkpoint in one transaction on the target
(:mod:`connectors.archive_loader`); a rerun skips committed batches and rebuilds the cross-batch
state from their checkpoints, so a killed run resumes with nothing lost and nothing loaded twice.

Duplicates across batches (:mod:`hrbridge.pipelines.cross_batch`): every batch is first
deduplicated on its own, then its survivors are looked up in the run's on-disk key index
(:mod:`hrbridge.pipelines.key_index`) and settled against the records earlier batches loaded by
the configured survivorship; a row that outranks a loaded record displaces it. Each batch's keys,
survivorship facts, displacements and expected rows are also persisted inside its checkpoint.
The verification's expected side is spilled to disk, so memory stays flat with the source.
Counts always reconcile: ``source rows = loaded + quarantined + duplicates merged``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectors.archive_loader import DEFAULT_TABLE, ArchiveLoader, BatchLoad
from connectors.legacy_sources import (
    DEFAULT_BATCH_SIZE,
    BatchSpec,
    LegacySource,
    SourceError,
    is_database_url,
    open_source,
)
from hrbridge.pipelines import scratch
from hrbridge.pipelines.cross_batch import KEY, PK_RULE, merge_across_batches
from hrbridge.pipelines.key_index import KeyIndex
from hrbridge.pipelines.migration_pii import DIGEST_SUFFIX, PersonalData, PersonalSpec
from hrbridge.pipelines.survivors import SurvivorStore, arrays_to_text, text_to_arrays
from transforms.cleaning import CANONICAL_COLUMNS, CleaningRules, clean_frame, load_rules
from transforms.dedupe import MERGE_COLUMNS, dedupe
from validation.reconcile import DEFAULT_THRESHOLD, Expected, normalise_frame, reconcile, row_state

log = logging.getLogger(__name__)

ALWAYS_BATCH_OVER = 100_000
RUN_ID = re.compile(r"[^\W][\w.-]{0,99}")  # letters, digits, _ . - (not first): a run id names a directory
_DERIVED_KEYS = {"exact": "e:row_hash", PK_RULE: "e:key_hash"}  # rule → the expected-hash array it equals


class MigrationInputError(ValueError):
    """Bad arguments or unreadable input (exit code 2); the message names file, row and column."""


@dataclass
class MigrationOptions:
    """What to migrate where; every field has a command-line flag and a DAG param."""

    source: str
    target: str
    mapping: str | Mapping[str, Any] = "auto"
    table: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    run_id: str | None = None
    target_table: str = DEFAULT_TABLE
    threshold: float = DEFAULT_THRESHOLD
    report_dir: str | None = None
    rules: CleaningRules | None = None
    spill_dir: str | None = None
    lang: str | None = None  # language of report.html (None: HRBRIDGE_LANG, else the locale)

    def effective_batch_size(self) -> int:
        """Requested size, never above 100,000 rows (large sources are always batched)."""
        size = self.batch_size if self.batch_size and self.batch_size > 0 else DEFAULT_BATCH_SIZE
        return min(size, ALWAYS_BATCH_OVER)

    def resolved_run_id(self) -> str:
        """The given run id, or one derived from source, target and table (so reruns resume)."""
        if self.run_id:
            return self.run_id
        parts = [self.source, self.table or "", self.sheet or "", self.target, self.target_table]
        if not is_database_url(self.source):
            path = Path(self.source)
            stat = path.stat() if path.exists() else None
            parts += [str(path.resolve()), str(stat.st_size if stat else ""), str(stat.st_mtime_ns if stat else "")]
        stem = Path(self.table or self.source).stem[:40] if not is_database_url(self.source) else (self.table or "db")
        stem = re.sub(r"[^\w.-]+", "_", stem).lstrip(".-_") or "source"
        return f"{stem}-{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:10]}"


def check_run_id(run_id: str) -> str:
    """The run id, if it can name a directory and a checkpoint row; else an input error (exit 2)."""
    if not RUN_ID.fullmatch(run_id):
        raise MigrationInputError(f"--run-id {run_id!r}: use at most 100 letters, digits, '_', '.' and '-', "
                                  "starting with a letter or digit (the run id names its report directory)")
    return run_id


def check_output_dir(path: Path, flag: str) -> Path:
    """``path`` is, or can be created as, a directory this process may write; else an input error.

    Nothing is created: the check walks up to the nearest existing ancestor.
    """
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise MigrationInputError(f"{flag} {path}: {probe} is a broken symbolic link")
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        what = "exists and is not a directory" if probe == path else f"cannot be created: {probe} is not a directory"
        raise MigrationInputError(f"{flag} {path}: {what}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise MigrationInputError(f"{flag} {path}: {probe} is not writable by this user")
    return path


# ----------------------------------------------------------------------------- mapping
def read_mapping(spec: str | Mapping[str, Any], headers: list[str]) -> dict[str, Any]:
    """The header mapping: a YAML file, an inline dict, or ``auto`` (suggested from the headers)."""
    from transforms.header_mapping import suggest_mapping

    if isinstance(spec, Mapping):
        return dict(spec)
    if spec == "auto":
        return suggest_mapping(headers)
    import yaml

    path = Path(spec)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MigrationInputError(f"mapping file not found: {path}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MigrationInputError(f"mapping file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise MigrationInputError(f"mapping file {path}: expected a 'columns:' map of source header → canonical column")
    return data


def check_mapping(mapping: Mapping[str, Any], headers: list[str], where: str, rules: CleaningRules) -> None:
    """Every mapped header exists, every target is canonical, and the key and required columns are mapped."""
    columns = mapping.get("columns") or {}
    missing = [h for h in columns if h not in headers]
    if missing:
        raise MigrationInputError(f"mapping names column {missing[0]!r} which is not in {where} "
                                  f"(columns: {', '.join(map(str, headers))})")
    unknown = {h: c for h, c in columns.items() if c not in CANONICAL_COLUMNS}
    if unknown:
        header, target = next(iter(unknown.items()))
        raise MigrationInputError(f"mapping maps column {header!r} to {target!r}, which is not a canonical column "
                                  f"({', '.join(CANONICAL_COLUMNS)})")
    mapped = set(columns.values())
    for column in dict.fromkeys([KEY, *rules.required]):
        if column not in mapped:
            label = "primary key column" if column == KEY else "required column"
            raise MigrationInputError(f"missing {label} {column!r}: no column of {where} maps to it "
                                      f"(columns: {', '.join(map(str, headers))})")


def canonical_frame(raw: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """Keep the mapped source columns, renamed to their canonical names."""
    return raw[list(columns)].rename(columns=dict(columns))


# ----------------------------------------------------------------------------- batch state
_STATE_MAGIC = b"HRBZ1"  # zstd-compressed .npz, then its uncompressed size (8 bytes, little endian)


def pack_state(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> bytes:
    """Serialise a batch's key/hash arrays and JSON metadata: numpy .npz (no pickle), compressed
    with zstd (about half the size; the checkpoint is written in the batch's transaction)."""
    import pyarrow as pa

    buffer = io.BytesIO()
    payload = dict(arrays)
    payload["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(buffer, **payload)
    raw = buffer.getbuffer()
    return _STATE_MAGIC + len(raw).to_bytes(8, "little") + pa.compress(raw, codec="zstd", asbytes=True)


def unpack_state(blob: bytes) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Inverse of :func:`pack_state`."""
    import pyarrow as pa

    if not blob.startswith(_STATE_MAGIC):
        raise ValueError("checkpoint state in an unknown format (written by another hrbridge version?)")
    head = len(_STATE_MAGIC)
    size = int.from_bytes(blob[head:head + 8], "little")
    blob = pa.decompress(blob[head + 8:], decompressed_size=size, codec="zstd", asbytes=True)
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files if name != "meta"}
        meta = json.loads(data["meta"].tobytes().decode())
    return arrays, meta


# ----------------------------------------------------------------------------- context
@dataclass
class Migration:
    """A prepared run: opened source, checked mapping, target loader and cross-batch state."""

    options: MigrationOptions
    source: LegacySource
    mapping: dict[str, Any]
    rules: CleaningRules
    loader: ArchiveLoader
    run_id: str
    columns: dict[str, str]
    index: KeyIndex = field(init=False)
    survivors: SurvivorStore = field(init=False)
    expected: Expected = field(init=False)
    scratch_dir: Path = field(init=False, repr=False)
    read_rows: int = field(init=False, default=0)
    read_cells: list[int] = field(init=False, default_factory=list)
    census: tuple[int, list[int]] | None = field(init=False, default=None)
    pii: PersonalData | None = None

    def __post_init__(self) -> None:
        spill = self.options.spill_dir
        for gone in scratch.sweep(spill, self.run_id):
            log.warning("run %s: removed %s (%d bytes) left by process %d, which is gone", self.run_id, gone.path,
                        gone.bytes, gone.pid)
        try:
            self.scratch_dir = scratch.create(self.run_id, spill)
        except OSError as exc:
            raise MigrationInputError(f"--spill-dir {spill}: cannot use it as a directory ({exc.strerror})") from exc
        self.index = KeyIndex(self.scratch_dir / "keys")
        self.survivors = SurvivorStore(self.scratch_dir / "survivors")
        self.expected = Expected(self.columns, KEY, spill_dir=self.scratch_dir)

    def drop_index(self) -> None:
        """Delete the dedupe key index and survivorship facts (not needed once every batch is loaded)."""
        self.index.close()
        shutil.rmtree(self.scratch_dir / "keys", ignore_errors=True)
        shutil.rmtree(self.scratch_dir / "survivors", ignore_errors=True)

    def close(self) -> None:
        """Delete the run's scratch directory (the committed checkpoints keep everything a rerun needs)."""
        self.drop_index()
        self.expected.close()
        shutil.rmtree(self.scratch_dir, ignore_errors=True)
        self.loader.engine.dispose()

    def count_read(self, meta: Mapping[str, Any]) -> None:
        """Add one batch's rows and non-empty cells per source column, as the main reader delivered them."""
        self.read_rows += int(meta.get("rows_read", 0))
        cells = list(meta.get("cells") or [])
        if len(cells) > len(self.read_cells):
            self.read_cells += [0] * (len(cells) - len(self.read_cells))
        for position, count in enumerate(cells):
            self.read_cells[position] += int(count)

    def take_census(self) -> tuple[int, list[int]]:
        """The second reader's counts of the source (one pass, done once; it also checks every bound)."""
        if self.census is None:
            try:
                self.census = self.source.cell_counts()
            except SourceError as exc:
                raise MigrationInputError(str(exc)) from exc
            if not self.census[0]:
                raise MigrationInputError(f"{self.source.name}: no data rows below the header (nothing to migrate; "
                                          "is this the right export?)")
        return self.census

    def source_check(self) -> dict[str, Any]:
        """The second reader's counts against the main reader's (see :func:`validation.migration_report.source_check`)."""
        from validation.migration_report import source_check

        return source_check(self.source.headers(), self.take_census(), (self.read_rows, self.read_cells))

    def restore(self, upto: int | None = None, index: bool = True, expected: bool = True) -> set[int]:
        """Rebuild the key index (unless ``index`` is false) and the expected hashes (unless
        ``expected`` is false: one batch's task dedupes against the index and never verifies)
        from the committed checkpoints (batches < ``upto``)."""
        restored = set()
        for batch_no, blob in self.loader.states(self.run_id):
            if upto is not None and batch_no >= upto or not blob:
                continue
            arrays, meta = unpack_state(blob)
            if expected:
                self.fold_expected(arrays)
            if index:
                self.fold_keys(arrays)
            self.count_read(meta)
            restored.add(batch_no)
        return restored

    def fold(self, arrays: Mapping[str, np.ndarray], index: bool = True) -> None:
        """Fold one batch's state (see :func:`process_batch`) into the run: its expected rows and
        the rows it displaced, and (with ``index``) its keys and survivorship facts."""
        self.fold_expected(arrays)
        if index:
            self.fold_keys(arrays)

    def fold_expected(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Add a batch's expected rows to the verification side and leave out those it displaced."""
        self.expected.add_state({name[2:]: value for name, value in arrays.items() if name.startswith("e:")})
        self.expected.drop(arrays["drop_src"])

    def fold_keys(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Add a batch's keys and survivorship facts, which the next batch dedupes against."""
        rows = arrays["e:source_row"]
        keys = arrays_to_text(arrays["s:key_offsets"], arrays["s:key_data"])
        self.survivors.add(rows, arrays["s:first"], arrays["s:second"], keys)
        self.survivors.forward(arrays["drop_src"], arrays["fwd_to"])
        for rule, same_as in _DERIVED_KEYS.items():  # keys equal to the expected hashes are not stored twice
            if f"k:{rule}" not in arrays and (rule == PK_RULE or rule in self.rules.dedupe.rules):
                self.index.add(rule, arrays[same_as], rows)
        for name in arrays:
            if name.startswith("k:"):
                rule = name[2:]
                self.index.add(rule, arrays[name], rows[arrays[f"p:{rule}"]])


def load_cleaning_rules() -> CleaningRules:
    """Rules from ``configs/cleaning.yaml`` (the defaults when the file is absent)."""
    from hrbridge.settings import ConfigError, load_config

    try:
        return load_rules(load_config("cleaning") or {})
    except ConfigError:
        return load_rules({})


def prepare(options: MigrationOptions, writable: bool = True) -> Migration:
    """Check the run id and every output location, open the source, resolve and check the
    mapping, connect the target (creating its tables only when ``writable``).

    Everything that can be checked before a data row is read is checked here, so a bad report
    directory, spill directory or target stops the run before anything is loaded.
    """
    from connectors.archive_loader import LoaderError

    run_id = check_run_id(options.resolved_run_id())
    if options.report_dir:  # the report always goes to the artefact store; here only when asked
        check_output_dir(Path(options.report_dir), "--report-dir")
    if options.spill_dir:
        check_output_dir(Path(options.spill_dir), "--spill-dir")
    rules = options.rules or load_cleaning_rules()
    try:
        source = open_source(options.source, table=options.table, sheet=options.sheet, encoding=options.encoding,
                             score=_sheet_score(options.mapping))
        headers = source.headers()
    except SourceError as exc:
        raise MigrationInputError(str(exc)) from exc
    mapping = read_mapping(options.mapping, headers)
    check_mapping(mapping, headers, source.name, rules)
    columns = dict(CANONICAL_COLUMNS)
    columns.update({k: v for k, v in (mapping.get("types") or {}).items() if k in columns})
    types = _target_types(columns)
    try:
        spec = PersonalSpec.from_mapping(mapping, list(types))
    except ValueError as exc:
        raise MigrationInputError(f"{options.mapping}: {exc}") from exc
    stored = {c: ("text" if c in spec.columns else k) for c, k in types.items()}
    stored.update({f"{c}{DIGEST_SUFFIX}": "text" for c in spec.columns})
    compared = {c: k for c, k in types.items() if c not in spec.columns}
    compared.update({f"{c}{DIGEST_SUFFIX}": "text" for c in spec.columns})
    try:
        loader = ArchiveLoader(options.target, stored, table=options.target_table, writable=writable)
    except LoaderError as exc:
        raise MigrationInputError(str(exc)) from exc
    run = Migration(options, source, mapping, rules, loader, run_id, compared)
    if spec.columns:
        try:
            run.pii = _personal_data(spec, loader, writable)
        except BaseException:
            run.close()
            raise
    return run


def _personal_data(spec: PersonalSpec, loader: ArchiveLoader, writable: bool) -> PersonalData:
    """The vault (keys in the hub) and the target's digest key; read-only runs create neither."""
    import sqlalchemy as sa

    from connectors.sql import make_engine
    from hrbridge.pipelines.migration_pii import PersonalDataError, digest_key
    from hrbridge.pipelines.pii import default_vault
    from hrbridge.settings import load_settings

    settings = load_settings().ensure_dirs() if writable else load_settings()
    hub = make_engine(settings.db_url)
    database = hub.url.database or ""
    missing = hub.dialect.name == "sqlite" and database not in ("", ":memory:") and not Path(database).is_file()
    if not writable and (missing or not sa.inspect(hub).has_table("data_keys")):
        raise MigrationInputError(f"{hub.url.render_as_string(hide_password=True)}: no data keys in the hub, so the "
                                  "sealed personal columns cannot be verified here")
    vault = default_vault(hub, settings.home, read_only=not writable, settings=settings)
    try:
        if writable:
            vault.require_available()  # nothing is loaded in plaintext because the key service is down
        key = digest_key(loader.engine, vault, create=writable)
    except PersonalDataError as exc:
        raise MigrationInputError(str(exc)) from exc
    return PersonalData(spec, vault, key, loader.table_name)


def _sheet_score(spec: str | Mapping[str, Any]) -> Any:
    """How well a workbook sheet's headers fit the mapping: every mapped header present (a mapping
    file), or how many headers map to canonical columns (``auto``)."""
    from transforms.header_mapping import suggest_mapping

    if isinstance(spec, Mapping) or spec != "auto":
        wanted = set((spec if isinstance(spec, Mapping) else _mapping_columns(spec)).keys())
        return lambda headers: len(wanted) if wanted and wanted <= set(headers) else 0
    return lambda headers: len(suggest_mapping(headers)["columns"])


def _mapping_columns(spec: str) -> dict[str, Any]:
    try:
        return dict(read_mapping(spec, []).get("columns") or {})
    except MigrationInputError:
        return {}


def _target_types(columns: Mapping[str, str]) -> dict[str, str]:
    return {c: (k if k in {"date", "datetime", "number"} else "text") for c, k in columns.items()}


# ----------------------------------------------------------------------------- one batch
@dataclass
class ProcessedBatch:
    """A batch after cleaning and dedupe, ready to load."""

    batch_no: int
    row_offset: int
    rows_read: int
    frame: pd.DataFrame
    quarantine: pd.DataFrame
    repairs: pd.DataFrame
    merges: pd.DataFrame
    quarantined_rows: int
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    displaced_keys: list[str] = field(default_factory=list)  # employee ids of loaded records it displaces

    @property
    def loaded(self) -> int:
        """Net records this batch adds to the target (its rows minus the records they displace)."""
        return len(self.frame) - len(self.displaced_keys)


def process_batch(run: Migration, batch_no: int, row_offset: int, raw: pd.DataFrame) -> ProcessedBatch:
    """Map, clean, dedupe (within and across batches) one batch and compute its verification state."""
    frame = canonical_frame(raw, run.mapping["columns"])
    types = {k: v for k, v in (run.mapping.get("types") or {}).items() if k in frame.columns}
    try:
        cleaned = clean_frame(frame, run.rules, columns=types or None, row_offset=row_offset)
    except ValueError as exc:
        raise MigrationInputError(f"{run.source.name}: {exc}") from exc
    repairs = _with_reader_repairs(cleaned.repairs, cleaned.quarantine, raw, run.mapping["columns"], row_offset)
    deduped = dedupe(cleaned.frame, run.rules)
    digests = run.pii.digests(deduped.frame) if run.pii else {}
    compared = deduped.frame.drop(columns=list(digests)).assign(
        **{f"{c}{DIGEST_SUFFIX}": pd.Series(d, index=deduped.frame.index, dtype=object) for c, d in digests.items()})
    state = row_state(normalise_frame(compared, run.columns), KEY, deduped.frame.index.to_numpy())

    def keyed(column: str, values: pd.Series) -> np.ndarray | None:
        if run.pii is None or column not in digests:
            return None
        return run.pii.match_keys(column, values, deduped.frame[column], digests[column])

    cross = merge_across_batches(deduped.frame, state["row_hash"], run.index, run.survivors, run.rules, keyed)
    merges = deduped.merges
    if cross.moved and len(merges):  # a survivor merged across batches hands over its merges
        merges = merges.assign(survivor_row=merges["survivor_row"].map(lambda r: cross.moved.get(r, r)).astype("int64"))
    merges = pd.concat([m for m in (merges, cross.merges) if len(m)], ignore_index=True) \
        if len(merges) or len(cross.merges) else pd.DataFrame(columns=MERGE_COLUMNS)
    keep = cross.keep
    survivors = deduped.frame[keep]
    quarantine = cleaned.quarantine
    if run.pii is not None:
        survivors = run.pii.seal(survivors, {c: d[keep] for c, d in digests.items()})
        subjects = dict(zip(range(row_offset, row_offset + len(frame)), frame[KEY].tolist(), strict=True))
        subjects.update(zip(cleaned.frame.index.tolist(), cleaned.frame[KEY].tolist(), strict=True))
        quarantine = run.pii.seal_log(quarantine, ["value"], subjects, "migration_quarantine", run.run_id)
        repairs = run.pii.seal_log(repairs, ["original", "new"], subjects, "migration_repairs", run.run_id)
    arrays = {f"e:{name}": values[keep] for name, values in state.items()}
    arrays.update({"drop_src": cross.displaced, "fwd_to": cross.forward_to, "s:first": cross.rank[0][keep],
                   "s:second": cross.rank[1][keep]})
    arrays["s:key_offsets"], arrays["s:key_data"] = text_to_arrays(survivors[KEY])
    for rule, (hashes, positions) in cross.kept_keys.items():
        if rule not in _DERIVED_KEYS:
            arrays[f"k:{rule}"] = hashes
            arrays[f"p:{rule}"] = positions.astype(np.uint32)
    quarantined_rows = int(cleaned.quarantine["row"].nunique()) if len(cleaned.quarantine) else 0
    meta = {"batch_no": batch_no, "rows_read": len(raw), "cells": non_empty_cells(raw)}
    return ProcessedBatch(batch_no, row_offset, len(raw), survivors, quarantine, repairs, merges,
                          quarantined_rows, arrays, meta, cross.displaced_keys)


def non_empty_cells(raw: pd.DataFrame) -> list[int]:
    """Per source column (by position): cells the main reader delivered with a value."""
    return [int((column.notna() & (column.astype("str") != "")).sum()) if len(column) else 0
            for _, column in raw.items()]


def _with_reader_repairs(repairs: pd.DataFrame, quarantine: pd.DataFrame, raw: pd.DataFrame,
                         columns: Mapping[str, str], row_offset: int) -> pd.DataFrame:
    """The cleaning's repair log plus the reader's own repairs (a merged cell's value given to every
    cell of its range) of mapped columns in loaded rows, in row order."""
    extra = raw.attrs.get("reader_repairs")
    if extra is None or not len(extra):
        return repairs
    extra = extra[extra["column"].isin(list(columns))].assign(
        column=lambda f: f["column"].map(dict(columns)), row=lambda f: f["row"].astype("int64") + row_offset)
    if len(quarantine):
        extra = extra[~extra["row"].isin(quarantine["row"].to_numpy())]
    if not len(extra):
        return repairs
    merged = pd.concat([repairs, extra[list(repairs.columns)]], ignore_index=True) if len(repairs) else \
        extra[list(repairs.columns)].reset_index(drop=True)
    return merged.sort_values(["row", "column"], kind="stable").reset_index(drop=True)


def load_processed(run: Migration, batch: ProcessedBatch, fold: bool = True) -> bool:
    """Commit the batch with its checkpoint state; on success fold its keys and hashes into the
    run state (unless done already)."""
    loaded = run.loader.load_batch(BatchLoad(
        run.run_id, batch.batch_no, batch.row_offset, batch.rows_read, batch.frame, batch.quarantine,
        batch.repairs, batch.merges, batch.quarantined_rows, len(batch.merges), source=run.source.name,
        state=pack_state(batch.arrays, batch.meta), displaced_keys=batch.displaced_keys))
    if loaded and fold:
        run.fold(batch.arrays)
    return loaded


# ----------------------------------------------------------------------------- runs
Progress = Callable[[dict[str, Any]], None]


@dataclass
class MigrationOutcome:
    """What a run or verification produced."""

    report: dict[str, Any]
    json_path: Path | None = None  # written only when a report directory was asked for
    html_path: Path | None = None
    json_key: str | None = None  # artefact keys: where every worker and the pages read the report
    html_key: str | None = None

    @property
    def passed(self) -> bool:
        """The integrity gate (and count reconciliation) passed."""
        return bool(self.report["passed"])


def iter_batches(run: Migration) -> Iterator[tuple[int, int, pd.DataFrame]]:
    """The source's batches, with read errors turned into input errors."""
    try:
        yield from run.source.batches(run.options.effective_batch_size())
    except SourceError as exc:
        raise MigrationInputError(str(exc)) from exc


def migrate(options: MigrationOptions, progress: Progress | None = None,
            after_batch: Callable[[int], None] | None = None) -> MigrationOutcome:
    """Run (or resume) a migration end to end and write its report; see the module docstring.

    Extraction and cleaning of batch N+1 overlap the load of batch N: a reader thread cleans
    batches in order and folds each one's keys into the run state (the next batch dedupes
    against them); the calling thread packs each checkpoint, commits the batches in the same
    order and adds their expected rows. Any failure stops both; the rerun resumes from the
    committed checkpoints.
    """
    started = time.perf_counter()
    with closing(prepare(options)) as run:
        restored = run.restore()
        run.take_census()  # the second reader checks every bound before a row is loaded
        timings = {"extract_clean": 0.0, "load": 0.0}
        counts = {"loaded": 0, "skipped": 0}
        handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
        stop = threading.Event()

        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    handoff.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                clock = time.perf_counter()
                for batch_no, offset, raw in iter_batches(run):
                    if batch_no in restored:
                        item: Any = ("skipped", batch_no, offset, len(raw))
                    else:
                        batch = process_batch(run, batch_no, offset, raw)
                        run.fold_keys(batch.arrays)  # the next batch dedupes against this one
                        item = ("batch", batch)
                    timings["extract_clean"] += time.perf_counter() - clock
                    if not put(item):
                        return
                    clock = time.perf_counter()
                put(("done",))
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread and re-raised there
                put(("error", exc))

        reader = threading.Thread(target=produce, name="migration-reader", daemon=True)
        reader.start()
        try:
            while True:
                item = handoff.get()
                if item[0] == "done":
                    break
                if item[0] == "error":
                    raise item[1]
                if item[0] == "skipped":
                    counts["skipped"] += 1
                    _notify(progress, item[1], item[2], item[3], "skipped")
                    continue
                batch = item[1]
                clock = time.perf_counter()
                if not load_processed(run, batch, fold=False):
                    raise RuntimeError(f"batch {batch.batch_no} of run {run.run_id} was committed by another "
                                       "process; rerun to resume")
                run.fold_expected(batch.arrays)  # here, not in the reader: this thread waits on the database
                run.count_read(batch.meta)
                timings["load"] += time.perf_counter() - clock
                counts["loaded"] += 1
                log.info("run %s batch %d: %d rows read, %d loaded", run.run_id, batch.batch_no, batch.rows_read,
                         batch.loaded)
                _notify(progress, batch.batch_no, batch.row_offset, batch.rows_read, "loaded")
                if after_batch:
                    after_batch(batch.batch_no)
        finally:
            stop.set()
            reader.join(timeout=30)
        timings["total_before_verify"] = time.perf_counter() - started
        return finish(run, timings, {"batches_loaded": counts["loaded"], "batches_skipped": counts["skipped"]})


def finish(run: Migration, timings: dict[str, float], extra: Mapping[str, Any] | None = None) -> MigrationOutcome:
    """Reconcile the run's expected state against the target and write report.json / report.html."""
    run.drop_index()  # not needed any more: free its disk before verifying
    clock = time.perf_counter()
    result = reconcile(run.expected, run.loader.engine, run.options.target_table, run.options.threshold)
    timings["verify"] = time.perf_counter() - clock
    counts = {**run_counts(run), "source_check": run.source_check()}
    return write_outcome(run, counts, result, timings, {"mode": "migrate", **(extra or {})})


def run_counts(run: Migration) -> dict[str, Any]:
    """Totals over the run's committed checkpoints and logs (survive restarts)."""
    import sqlalchemy as sa

    done = run.loader.committed(run.run_id)
    totals = {"batches": len(done),
              "source_rows": sum(c["rows_read"] for c in done.values()),
              "loaded_rows": sum(c["loaded"] for c in done.values()),
              "quarantined_rows": sum(c["quarantined_rows"] for c in done.values()),
              "duplicates_merged": sum(c["duplicates_merged"] for c in done.values()),
              "repaired_values": sum(c["repaired_values"] for c in done.values())}
    groups = {"quarantine_by_reason": ("migration_quarantine", "rule"),
              "repairs_by_rule": ("migration_repairs", "rule"),
              "merges_by_rule": ("migration_merges", "rule")}
    tables = run.loader.metadata.tables
    with run.loader.engine.connect() as conn:
        for name, (table_name, column) in groups.items():
            table = tables[table_name]
            query = (sa.select(table.c[column], sa.func.count()).where(table.c.run_id == run.run_id)
                     .group_by(table.c[column]).order_by(table.c[column]))
            totals[name] = {str(k): int(v) for k, v in conn.execute(query)}
        quarantine = tables["migration_quarantine"]
        query = (sa.select(quarantine.c.column_name, sa.func.count()).where(quarantine.c.run_id == run.run_id)
                 .group_by(quarantine.c.column_name).order_by(quarantine.c.column_name))
        totals["quarantine_by_column"] = {str(k): int(v) for k, v in conn.execute(query)}
    return totals


def write_outcome(run: Migration, counts: Mapping[str, Any], result: Any, timings: Mapping[str, float],
                  extra: Mapping[str, Any], keep: bool = True) -> MigrationOutcome:
    """Build the report, store it as artefacts (``migration/<run>/report.json|html``; not when ``keep`` is
    false: a stand-alone verify writes nothing) and, when a report directory was asked for, write it there."""
    from hrbridge.i18n import report_translator
    from validation.migration_report import build_report, write_report

    t = report_translator(run.options.lang)
    report = build_report(run_id=run.run_id, source=run.source.name, target=run.loader.engine.url.render_as_string(
        hide_password=True), table=run.options.target_table, counts=counts, reconciliation=result,
        timings=timings, extra={**extra, "batch_size": run.options.effective_batch_size(),
                                "mapping": run.mapping.get("columns"), "unmapped": run.mapping.get("unmapped", [])})
    json_key, html_key = store_report(report, t) if keep else (None, None)
    json_path = html_path = None
    if run.options.report_dir:
        try:
            json_path, html_path = write_report(report, Path(run.options.report_dir), t)
        except OSError as exc:
            raise MigrationInputError(f"--report-dir {run.options.report_dir}: cannot write the report "
                                      f"({exc.strerror or exc})") from exc
    return MigrationOutcome(report, json_path, html_path, json_key, html_key)


def store_report(report: Mapping[str, Any], t: Any) -> tuple[str, str]:
    """Put ``report.json`` and ``report.html`` (in ``t``'s language) in the artefact store; returns both keys."""
    from hrbridge.artefacts import artefact_store, safe_name
    from validation.migration_report import render_html

    store, folder = artefact_store(), safe_name(report["run_id"])
    meta = {"run_id": report["run_id"], "passed": bool(report["passed"]), "lang": t.lang}
    json_key = store.put("migration", f"{folder}/report.json",
                         json.dumps(report, indent=2, ensure_ascii=False, default=str).encode("utf-8"),
                         "application/json", meta)
    html_key = store.put("migration", f"{folder}/report.html", render_html(report, t).encode("utf-8"),
                         "text/html; charset=utf-8", meta)
    return json_key, html_key


def verify(options: MigrationOptions, progress: Progress | None = None) -> MigrationOutcome:
    """Re-derive the cleaned source (no loading) and reconcile it against the target."""
    started = time.perf_counter()
    with closing(prepare(options, writable=False)) as run:
        run.take_census()
        done = run.loader.committed(run.run_id)
        if len(done) > 1:  # cross-batch survivors depend on the batch layout: re-derive with the run's
            options.batch_size = int(done[0]["rows_read"])
        counts = {"batches": 0, "source_rows": 0, "loaded_rows": 0, "quarantined_rows": 0, "duplicates_merged": 0,
                  "repaired_values": 0, "quarantine_by_reason": {}, "repairs_by_rule": {}, "merges_by_rule": {},
                  "quarantine_by_column": {}}
        for batch_no, offset, raw in iter_batches(run):
            batch = process_batch(run, batch_no, offset, raw)
            run.fold(batch.arrays)
            run.count_read(batch.meta)
            counts["batches"] += 1
            counts["source_rows"] += batch.rows_read
            counts["loaded_rows"] += batch.loaded
            counts["quarantined_rows"] += batch.quarantined_rows
            counts["duplicates_merged"] += len(batch.merges)
            counts["repaired_values"] += len(batch.repairs)
            for name, frame, column in (("quarantine_by_reason", batch.quarantine, "rule"),
                                        ("repairs_by_rule", batch.repairs, "rule"),
                                        ("merges_by_rule", batch.merges, "rule"),
                                        ("quarantine_by_column", batch.quarantine, "column")):
                for key, value in frame[column].value_counts().items() if len(frame) else []:
                    counts[name][str(key)] = counts[name].get(str(key), 0) + int(value)
            _notify(progress, batch_no, offset, len(raw), "checked")
        timings = {"extract_clean": time.perf_counter() - started}
        clock = time.perf_counter()
        result = reconcile(run.expected, run.loader.engine, options.target_table, options.threshold)
        timings["verify"] = time.perf_counter() - clock
        counts["source_check"] = run.source_check()
        return write_outcome(run, counts, result, timings, {"mode": "verify"}, keep=False)


def _notify(progress: Progress | None, batch_no: int, offset: int, rows: int, status: str) -> None:
    if progress:
        progress({"batch_no": batch_no, "row_offset": offset, "rows": rows, "status": status})


# ----------------------------------------------------------------------------- DAG steps
def plan(options: MigrationOptions) -> list[dict[str, Any]]:
    """Batch descriptors (small dicts: number, offset, rows, key range) for one task per batch."""
    with closing(prepare(options)) as run:
        try:  # (a CSV plan is the second reader's pass; the census below reuses its counts)
            specs = run.source.plan(options.effective_batch_size())
        except SourceError as exc:
            raise MigrationInputError(str(exc)) from exc
        run.take_census()  # every bound checked before any task loads a row
        return [{**spec.as_dict(), "run_id": run.run_id} for spec in specs]


def migrate_batch(options: MigrationOptions, batch: Mapping[str, Any]) -> dict[str, Any]:
    """Load one planned batch (idempotent: a committed checkpoint makes it a no-op)."""
    options.run_id = options.run_id or batch.get("run_id")
    with closing(prepare(options)) as run:
        offset = batch.get("byte_offset")
        spec = BatchSpec(int(batch["batch_no"]), int(batch["row_offset"]), int(batch["rows"]),
                         batch.get("low"), batch.get("high"), None if offset is None else int(offset))
        if spec.batch_no in run.loader.committed(run.run_id):
            return {"batch_no": spec.batch_no, "status": "skipped"}
        run.restore(expected=False)  # every committed batch's keys, whatever order the tasks ran in
        try:
            raw = run.source.read_batch(spec, options.effective_batch_size())
        except SourceError as exc:
            raise MigrationInputError(str(exc)) from exc
        processed = process_batch(run, spec.batch_no, spec.row_offset, raw)
        status = "loaded" if load_processed(run, processed, fold=False) else "skipped"  # the process ends here
        return {"batch_no": spec.batch_no, "status": status, "rows_read": processed.rows_read,
                "loaded": processed.loaded, "quarantined_rows": processed.quarantined_rows,
                "duplicates_merged": len(processed.merges)}


def verify_run(options: MigrationOptions, run_id: str | None = None) -> MigrationOutcome:
    """Reconcile a run from its checkpoints and write its report (the DAG's verify step)."""
    options.run_id = options.run_id or run_id
    with closing(prepare(options, writable=False)) as run:
        run.restore(index=False)
        return finish(run, {})
