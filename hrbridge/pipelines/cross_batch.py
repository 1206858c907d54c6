"""Duplicates across migration batches, decided by the configured survivorship.

Each batch is first deduplicated on its own (:func:`transforms.dedupe.dedupe`). Its survivors are
then looked up in the run's key index (:mod:`hrbridge.pipelines.key_index`) under the same keys —
whole row, ID number, e-mail+name, phone+name — plus the employee id. When a row meets a record
an earlier batch loaded, the two are compared by :func:`transforms.dedupe.survivor_rank` exactly
as within a batch (ties go to the earlier source row):

* the loaded record wins → the row is merged into it;
* the row wins → it **displaces** the loaded record: the batch deletes that record's target row
  (in the batch's own transaction), loads the row, logs the merge with the row as survivor, and
  the run forwards later duplicates of the displaced record to the row
  (:class:`hrbridge.pipelines.survivors.SurvivorStore`).

Two rows of one batch with the same employee id but otherwise different are merged by
survivorship too (rule ``employee_id``), so a primary-key upsert can never silently overwrite a
record that was counted as loaded. Merge lines keep their history: when a loaded survivor is
displaced later, its earlier lines still name it, and the new line names its successor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hrbridge.pipelines.key_index import KeyIndex
from hrbridge.pipelines.survivors import SurvivorStore
from transforms.cleaning import CleaningRules
from transforms.dedupe import MERGE_COLUMNS, fold_name, survivor_order, survivor_rank
from validation.reconcile import hash_strings

KEY = "employee_id"
PK_RULE = "employee_id"
KEY_COLUMNS = {"id_number": ("id_number",), "email+name": ("email", "name"), "phone+name": ("phone", "name")}


def _key_part(frame: pd.DataFrame, column: str) -> pd.Series:
    """One part of a dedupe key, normalised exactly like :mod:`transforms.dedupe`."""
    if column == "name":
        return fold_name(frame[column])
    values = frame[column].astype("str")
    if column == "email":
        return values.str.strip().str.lower()
    return values


Keyed = Callable[[str, pd.Series], "np.ndarray | None"]


def batch_keys(frame: pd.DataFrame, row_hash: np.ndarray, rules: CleaningRules,
               keyed: Keyed | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per dedupe rule: (64-bit key hashes, positions in ``frame``) of the rows that have that key.

    ``keyed(column, values)`` gives keyed 64-bit digests for a personal column (None for others),
    so the on-disk key index never holds a plain hash of a phone or ID number.
    """
    keys: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    positions = np.arange(len(frame))
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def part(column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in parts:
            values = _key_part(frame, column)
            hashes = keyed(column, values) if keyed else None
            parts[column] = (hash_strings(values) if hashes is None else hashes,
                             values.notna().to_numpy() & (values != "").to_numpy())
        return parts[column]

    for rule in [*rules.dedupe.rules, PK_RULE]:
        if rule == "exact":
            keys[rule] = (row_hash, positions)
            continue
        columns = (KEY,) if rule == PK_RULE else KEY_COLUMNS.get(rule, ())
        if not columns or any(c not in frame.columns for c in columns):
            continue
        hashes, present = part(columns[0])
        for index, column in enumerate(columns[1:], start=1):
            other, other_present = part(column)
            hashes = hashes ^ ((other * np.uint64(0x9E3779B97F4A7C15)) + np.uint64(index))
            present = present & other_present
        keys[rule] = (hashes[present], positions[present])
    return keys


@dataclass
class CrossBatch:
    """What the cross-batch step decided for one batch."""

    keep: np.ndarray  # rows of the batch that are loaded
    merges: pd.DataFrame  # merge lines (MERGE_COLUMNS)
    kept_keys: dict[str, tuple[np.ndarray, np.ndarray]]  # per rule: hashes, positions among kept rows
    rank: tuple[np.ndarray, np.ndarray]  # survivorship rank of every row of the batch
    displaced: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # loaded rows it displaces
    displaced_keys: list[str] = field(default_factory=list)  # their employee ids (target rows to delete)
    forward_to: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # each one's survivor
    moved: dict[int, int] = field(default_factory=dict)  # rows of the batch merged here → final survivor


class _Decider:
    """Walks one batch's hits in rule order, keeping the chain of who survives whom."""

    def __init__(self, frame: pd.DataFrame, rules: CleaningRules, survivors: SurvivorStore) -> None:
        self.rows = frame.index.to_numpy(dtype=np.int64)
        if len(self.rows) > 1 and not (np.diff(self.rows) > 0).all():
            raise ValueError("batch rows must be in ascending source order")
        self.rank = survivor_rank(frame, rules)
        self.survivors = survivors
        self.survivorship = rules.dedupe.survivorship
        self.merged = np.zeros(len(frame), dtype=bool)
        self.overlay: dict[int, int] = {}  # this batch's forwarding: loser → winner
        self.loaded: dict[int, tuple[float, float, str]] = {}  # facts of loaded records met
        self.displaced: dict[int, str] = {}  # loaded record → its employee id
        self.lines: list[tuple[int, int, str]] = []

    def position(self, row: int) -> int:
        return int(np.searchsorted(self.rows, row))

    def in_batch(self, row: int) -> bool:
        """Whether ``row`` is this batch's (else a loaded record, which may come from a later
        part of the source when DAG tasks ran out of order)."""
        at = self.position(row)
        return at < len(self.rows) and int(self.rows[at]) == row

    def key_of(self, row: int) -> tuple[float, float, int]:
        if self.in_batch(row):
            at = self.position(row)
            return float(self.rank[0][at]), float(self.rank[1][at]), row
        first, second, _ = self.loaded[row]
        return first, second, row

    def prefetch(self, found: np.ndarray) -> None:
        """Read the survivorship facts of the loaded records the batch's hits lead to, in one go."""
        targets = {self.survivors.resolve(int(r)) for r in np.unique(found)}
        wanted = [t for t in targets if not self.in_batch(t)]
        if wanted:
            self.loaded.update(self.survivors.attributes(np.asarray(wanted)))

    def meet(self, rule: str, positions: np.ndarray, found: np.ndarray) -> None:
        """Settle each row at ``positions`` against the loaded record ``found`` (its index hit)."""
        for at, target in zip(positions.tolist(), found.tolist(), strict=True):
            if self.merged[at]:
                continue
            row = int(self.rows[at])
            target = self.survivors.resolve(target, self.overlay)
            if target == row:
                continue
            loaded = not self.in_batch(target)
            if loaded and target not in self.loaded:
                self.loaded.update(self.survivors.attributes(np.asarray([target])))
            if self.key_of(row) < self.key_of(target):  # the row survives
                if loaded:
                    self.displaced[target] = self.loaded[target][2]
                else:
                    self.merged[self.position(target)] = True
                self.overlay[target] = row
                self.lines.append((row, target, rule))
            else:
                self.merged[at] = True
                self.overlay[row] = target
                self.lines.append((target, row, rule))


def merge_across_batches(frame: pd.DataFrame, row_hash: np.ndarray, index: KeyIndex, survivors: SurvivorStore,
                         rules: CleaningRules, keyed: Keyed | None = None) -> CrossBatch:
    """Settle the batch's rows against the records loaded by earlier batches, and repeated
    employee ids within the batch (see the module docstring).

    ``frame`` is the batch after :func:`transforms.dedupe.dedupe` (index = source row, ascending)
    and ``row_hash`` its normalised row hashes.
    """
    keys = batch_keys(frame, row_hash, rules, keyed)
    decide = _Decider(frame, rules, survivors)
    hits = []
    for rule, (hashes, positions) in keys.items():
        hit, found = index.lookup(rule, hashes)
        if hit.any():
            hits.append((rule, positions[hit], found[hit]))
    if hits:
        decide.prefetch(np.concatenate([found for _, _, found in hits]))
    for rule, positions, found in hits:
        decide.meet(rule, positions, found)
    _merge_repeated_ids(frame, rules, decide)
    keep = ~decide.merged
    remap = np.cumsum(keep) - 1
    kept_keys = {}
    for rule, (hashes, positions) in keys.items():
        alive = keep[positions]
        kept_keys[rule] = (hashes[alive], remap[positions[alive]])
    merges = pd.DataFrame([(w, m, r, decide.survivorship) for w, m, r in decide.lines], columns=MERGE_COLUMNS)
    merges = merges.astype({"survivor_row": "int64", "merged_row": "int64"})
    displaced = np.asarray(sorted(decide.displaced), dtype=np.int64)
    final = {row: survivors.resolve(row, decide.overlay) for row in decide.overlay}
    return CrossBatch(keep, merges, kept_keys, decide.rank, displaced,
                      [decide.displaced[r] for r in displaced.tolist()],
                      np.asarray([final[r] for r in displaced.tolist()], dtype=np.int64),
                      {r: w for r, w in final.items() if decide.in_batch(r)})


def _merge_repeated_ids(frame: pd.DataFrame, rules: CleaningRules, decide: _Decider) -> None:
    """Rows still standing that share an employee id: the best by survivorship stays."""
    if KEY not in frame.columns:
        return
    standing = frame[~decide.merged]
    repeated = (standing[KEY].notna() & standing[KEY].duplicated(keep=False)).to_numpy()
    if not repeated.any():
        return
    group = standing[repeated]
    ranked = group.iloc[survivor_order(group, rules)]
    first = (~ranked[KEY].duplicated(keep="first")).to_numpy()
    survivor_of = pd.Series(ranked.index[first].to_numpy(), index=ranked[KEY][first].to_numpy())
    losers = ranked[~first]
    for winner, loser in zip(survivor_of.loc[losers[KEY].to_numpy()].tolist(), losers.index.tolist(), strict=True):
        decide.merged[decide.position(loser)] = True
        decide.overlay[loser] = winner
        decide.lines.append((winner, loser, PK_RULE))
