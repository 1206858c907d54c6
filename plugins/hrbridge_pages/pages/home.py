"""The start page: the pages this viewer may open, each with one line saying what it is for."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from plugins.hrbridge_pages.access import Forbidden, Viewer, current_viewer
from plugins.hrbridge_pages.render import page

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, viewer: Viewer = Depends(current_viewer)) -> HTMLResponse:
    """List the viewer's pages; a user roles.yaml does not map gets 403."""
    if viewer.role is None:
        raise Forbidden("unmapped user")
    return page(request, "home.html")
