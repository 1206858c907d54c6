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

GX's pages load Bootstrap, jQuery, Bootstrap Table and Font Awesome from public CDNs; the pages are
stored with those links pointing at copies shipped in ``hrbridge/data_docs_vendor/`` (stored as
``static/vendor/...`` with GX's static files), so the site is styled and its tables work behind a
``default-src 'self'`` policy and without internet access. Links to anything not shipped are dropped.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from hrbridge.artefacts import ArtefactStore, split_key

KIND = "validation"
STATIC_PREFIX = "data-docs-static"

VENDOR_DIR = Path(__file__).with_name("data_docs_vendor")
# CDN address in GX's templates -> the copy under static/vendor/ (byte-identical: SRI hashes hold).
VENDOR = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/js/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
}
# GX's logo from its web-assets bucket (with a cache-busting query) -> the copy in GX's own static files.
_LOGO = re.compile(r'"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[a-z_-]+\.png[^"]*"')
_SRI = re.compile(r'\s(?:integrity|crossorigin)="[^"]*"')
# GX copies these into every site but no page it renders refers to them (3.4 MB): not stored.
UNUSED_STATIC = frozenset({"static/images/glossary_scroller.gif", "static/images/validation_failed_unexpected_values.gif",
                           "static/images/iterative-dev-loop.png"})
_EXTERNAL_TAG = re.compile(r'<script\b[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>|<link\b[^>]*\bhref="https?://[^"]*"[^>]*>')
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


def localise(page: str, path: str) -> str:
    """``page`` (a site file at ``path``) with GX's CDN links pointing at the shipped copies, others dropped."""
    up = "../" * path.count("/")
    for url, copy in VENDOR.items():
        page = page.replace(f'"{url}"', f'"{up}static/vendor/{copy}"')
    page = _LOGO.sub(f'"{up}static/images/logo-long.png"', page)
    # The copies come from our own store (checked against their SHA-256 there); GX's integrity and
    # crossorigin attributes would make a browser refuse them in a copy opened from disk (file://).
    page = re.sub(r'<(script|link)\b[^>]*>', lambda tag: _SRI.sub("", tag.group(0)) if "static/vendor/" in tag.group(0)
                  else tag.group(0), page)
    return _EXTERNAL_TAG.sub("", page)


def vendor_files() -> list[tuple[str, Path]]:
    """``(static/vendor/<file>, path)`` of every shipped copy (licence texts included)."""
    return sorted((f"static/vendor/{path.relative_to(VENDOR_DIR).as_posix()}", path)
                  for path in VENDOR_DIR.rglob("*") if path.is_file() and path.name != "README.md")


def registered_store(handle: str) -> ArtefactStore:
    """The store :func:`site_config` registered as ``handle`` in this process."""
    with _lock:
        if handle not in _stores:
            raise LookupError(f"Data Docs site: no artefact store registered as {handle!r} in this process")
        return _stores[handle]
