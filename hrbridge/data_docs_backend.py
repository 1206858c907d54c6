"""The GX store backend of the Data Docs site ``hrbridge``: its files are artefacts (see :mod:`hrbridge.data_docs`).

Kept apart from :mod:`hrbridge.data_docs` because it imports Great Expectations; GX imports it by
name from the site's config when a Checkpoint's ``UpdateDataDocsAction`` builds the site.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from great_expectations.data_context.store.tuple_store_backend import TupleStoreBackend
from great_expectations.exceptions import InvalidKeyError

from hrbridge.artefacts import ArtefactNotFound, split_key
from hrbridge.data_docs import (
    KIND,
    UNUSED_STATIC,
    artefact_for,
    localise,
    registered_store,
    site_prefix,
    vendor_files,
)

_static_written: set[tuple[str, str]] = set()


class ArtefactSiteBackend(TupleStoreBackend):
    """A GX ``TupleStoreBackend`` whose files are artefacts of one run's Data Docs site."""

    def __init__(self, store: str, run: str, filepath_template: Any = None, filepath_prefix: Any = None,
                 filepath_suffix: Any = None, forbidden_substrings: Any = None, platform_specific_separator: bool = False,
                 fixed_length_key: bool = False, suppress_store_backend_id: bool = True,
                 manually_initialize_store_backend_id: str = "", base_public_path: Any = None,
                 store_name: Any = None, **_ignored: Any) -> None:
        super().__init__(filepath_template=filepath_template, filepath_prefix=filepath_prefix,
                         filepath_suffix=filepath_suffix, forbidden_substrings=forbidden_substrings,
                         platform_specific_separator=False, fixed_length_key=fixed_length_key,
                         suppress_store_backend_id=True,
                         manually_initialize_store_backend_id=manually_initialize_store_backend_id,
                         base_public_path=base_public_path, store_name=store_name)
        self.store = registered_store(store)
        self.handle, self.run = store, run
        self._config = {"store": store, "run": run, "filepath_template": filepath_template,
                        "filepath_prefix": filepath_prefix, "filepath_suffix": filepath_suffix,
                        "module_name": __name__, "class_name": type(self).__name__}

    @property
    def config(self) -> dict:
        """The config GX re-instantiates this backend from."""
        return self._config

    def _key(self, key: tuple) -> str:
        return artefact_for(self.run, self._convert_key_to_filepath(key))

    def _get(self, key: tuple) -> str:
        try:
            return self.store.get(self._key(key)).text()
        except ArtefactNotFound as exc:
            raise InvalidKeyError(f"no Data Docs page {self._key(key)}") from exc

    def _get_all(self) -> list[Any]:
        return [self._get(key) for key in self.list_keys()]

    def _set(self, key: Any, value: Any, **kwargs: Any) -> str:
        if not isinstance(key, tuple):
            key = key.to_tuple()
        path = self._convert_key_to_filepath(key)
        artefact = artefact_for(self.run, path)
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        content_type = kwargs.get("content_type") or mimetypes.guess_type(path)[0] or "application/octet-stream"
        kind, name = split_key(artefact)
        if path.startswith("static/"):
            if path not in UNUSED_STATIC:
                self._put_static(artefact, data, content_type)
            return artefact
        if path.endswith(".html"):
            data = localise(data.decode("utf-8"), path).encode("utf-8")
            for vendor_path, source in vendor_files():
                self._put_static(artefact_for(self.run, vendor_path), source,
                                 mimetypes.guess_type(source.name)[0] or "text/plain; charset=utf-8")
        self.store.put(kind, name, data, content_type, {"run": self.run, "data_docs": "page"})
        return artefact

    def _put_static(self, artefact: str, data: bytes | Path, content_type: str) -> None:
        """GX's static files and the shipped copies: the same for every run, written once per store."""
        marker = (self.handle, artefact)
        if marker in _static_written:
            return
        if not self.store.exists(artefact):
            kind, name = split_key(artefact)
            payload = data.read_bytes() if isinstance(data, Path) else data
            self.store.put(kind, name, payload, content_type, {"data_docs": "static"})
        _static_written.add(marker)

    def _move(self, source_key: tuple, dest_key: tuple, **kwargs: Any) -> Any:
        value = self._get(source_key)
        self._set(dest_key, value, **kwargs)
        self.remove_key(source_key)
        return dest_key

    def list_keys(self, prefix: tuple = ()) -> list[tuple]:
        """Keys of this backend's section of the run's site (pages only: static assets are shared)."""
        base = f"{site_prefix(self.run)}/"
        keys = []
        for info in self.store.list(KIND, base + "/".join(prefix)):
            path = info.name[len(base):]
            if self._is_missing_prefix_or_suffix(self.filepath_prefix, self.filepath_suffix, path):
                continue
            key = self._convert_filepath_to_key(path)
            if key is not None and not self.is_ignored_key(key):
                keys.append(key)
        return keys

    def remove_key(self, key: Any) -> bool:
        """Delete one page of the run's site."""
        if not isinstance(key, tuple):
            key = key.to_tuple()
        return self.store.delete(self._key(key))

    def _has_key(self, key: tuple) -> bool:
        return self.store.exists(self._key(key))

    def get_url_for_key(self, key: tuple, protocol: Any = None) -> str:
        """The artefact key (the pages serve it at ``/hrbridge/validation/runs/<run>/data-docs/...``)."""
        return self._key(key)
