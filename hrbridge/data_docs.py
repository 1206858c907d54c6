"""Great Expectations Data Docs written straight into the artefact store, never a worker's disk.

A validation run's GX Checkpoint ends with an ``UpdateDataDocsAction`` that builds the site
``hrbridge`` (see :func:`validation.results_suite.SuiteRunner`). That site's store backend is
:class:`hrbridge.data_docs_backend.ArtefactSiteBackend`, so every page GX renders lands in the shared artefact store
(:mod:`hrbridge.artefacts`), where any api-server replica serves it through the pages:

* ``validation/<run>/data-docs/index.html`` — GX's index of the run (its validated batches, the suite),
* ``validation/<run>/data-docs/validations/<suite>/<run>/<time>/<batch>.html`` — one page per batch,
* ``validation/<run>/data-docs/expectations/<suite>.html`` — the suite,
* ``validation/data-docs-static/<gx version>/static/...`` — GX's styles, fonts and images, stored
  once per store and GX version rather than once per run (about 4 MB).

``<run>`` is :func:`hrbridge.pipelines.interview_results.config.file_safe` of the run id.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib.metadata import version
from typing import Any

from hrbridge.artefacts import ArtefactStore, split_key

KIND = "validation"
STATIC_PREFIX = "data-docs-static"

BACKEND = ("hrbridge.data_docs_backend", "ArtefactSiteBackend")  # imported by GX, with GX
_stores: dict[str, ArtefactStore] = {}
_lock = threading.Lock()


@cache
def gx_version() -> str:
    """The installed GX version, as one key segment (static assets change with it)."""
    return version("great-expectations").replace("+", "-")


def static_prefix() -> str:
    """The name prefix (below kind ``validation``) of the static assets shared by every run's site."""
    return f"{STATIC_PREFIX}/{gx_version()}/"


def site_prefix(run: str) -> str:
    """The name prefix (below kind ``validation``) of a run's Data Docs site."""
    return f"{run}/data-docs"


def index_key(run: str) -> str:
    """The artefact key of a run's Data Docs index page."""
    return f"{KIND}/{site_prefix(run)}/index.html"


def static_key(path: str) -> str:
    """The artefact key of a GX static asset; ``path`` starts with ``static/``."""
    return f"{KIND}/{static_prefix()}{path}"


def artefact_for(run: str, path: str) -> str:
    """The artefact key behind ``path`` of a run's site (static assets are shared by every run)."""
    key = static_key(path) if path.startswith("static/") else f"{KIND}/{site_prefix(run)}/{path}"
    split_key(key)  # raises ArtefactError on '..', empty or odd segments
    return key


def site_config(store: ArtefactStore, run: str) -> dict[str, Any]:
    """The ``data_docs_sites`` entry that builds ``run``'s site into ``store``.

    GX instantiates the backend from this (JSON-like) config, so the store object itself stays in
    this process's registry and the config carries only its handle.
    """
    handle = f"{type(store).__name__}-{id(store)}"
    with _lock:
        _stores[handle] = store
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"module_name": BACKEND[0], "class_name": BACKEND[1], "store": handle, "run": run},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }


def registered_store(handle: str) -> ArtefactStore:
    """The store :func:`site_config` registered as ``handle`` in this process."""
    with _lock:
        if handle not in _stores:
            raise LookupError(f"Data Docs site: no artefact store registered as {handle!r} in this process")
        return _stores[handle]
