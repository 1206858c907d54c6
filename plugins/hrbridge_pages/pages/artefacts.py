"""Downloads of stored artefacts (reports, exports, Data Docs) at ``/api/artefacts/{kind}/{name}``.

Each artefact kind is readable with one resource of roles.yaml; a kind not listed here is denied
to everyone (deny by default).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from plugins.hrbridge_pages import state
from plugins.hrbridge_pages.access import Forbidden, Viewer, current_viewer, permits

router = APIRouter()
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
    if ".." in key.split("/") or not store.exists(key):
        raise LookupError(key)
    found = store.get(key)
    filename = key.rsplit("/", 1)[-1].replace('"', "")
    disposition = "inline" if found.content_type.startswith("text/html") else f'attachment; filename="{filename}"'
    return Response(found.data, media_type=found.content_type, headers={"Content-Disposition": disposition})
