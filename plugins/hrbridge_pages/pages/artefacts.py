"""Downloads of stored artefacts (reports, exports, Data Docs) at ``/api/artefacts/{kind}/{name}``.

Each artefact kind is readable with one resource of roles.yaml; a kind not listed here is denied
to everyone (deny by default).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from plugins.hrbridge_pages import state
from plugins.hrbridge_pages.access import Forbidden, Viewer, current_viewer, permits

router = APIRouter()
DATA_DOCS = re.compile(r"^validation/([^/]+)/data-docs/(.+)$")
# hrbridge's stored reports are single pages with inline CSS and SVG, and never a script.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
# ``audit-export``: what ``hrbridge audit export`` keeps without --out (hrbridge.pipelines.retention).
KIND_RESOURCE = {"validation": "validation.run", "migration": "migration.report", "audit-export": "audit.export"}


@router.get("/api/artefacts/{key:path}")
async def artefact(request: Request, key: str, viewer: Viewer = Depends(current_viewer)) -> Response:
    """The artefact's bytes with its content type, if the viewer may read its kind."""
    kind = key.split("/", 1)[0]
    resource = KIND_RESOURCE.get(kind)
    if resource is None or not permits(viewer, resource, "read"):
        raise Forbidden(f"artefact kind {kind}")
    store = state.artefacts()
    headers: dict[str, str] = {}
    site = DATA_DOCS.match(key)
    if site:  # a Data Docs site (linked from the stored HR ops page): its static files are shared by every run
        from hrbridge.artefacts import ArtefactError
        from hrbridge.data_docs import artefact_for
        from plugins.hrbridge_pages.pages.validation import DATA_DOCS_CSP

        try:
            key = artefact_for(site.group(1), site.group(2))
        except ArtefactError as exc:
            raise LookupError(key) from exc
        headers["Content-Security-Policy"] = DATA_DOCS_CSP
    if ".." in key.split("/") or not store.exists(key):
        raise LookupError(key)
    found = store.get(key)
    filename = key.rsplit("/", 1)[-1].replace('"', "")
    disposition = "inline" if found.content_type.startswith("text/html") else f'attachment; filename="{filename}"'
    if site:
        disposition = "inline"
    elif found.content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = REPORT_CSP
    return Response(found.data, media_type=found.content_type, headers={"Content-Disposition": disposition, **headers})
