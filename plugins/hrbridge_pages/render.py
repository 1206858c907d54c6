"""Server-rendered HTML with Jinja2: the shared layout, helpers every template gets, responses."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from plugins.hrbridge_pages.access import Viewer, permits
from plugins.hrbridge_pages.i18n import Translator
from plugins.hrbridge_pages.registry import PAGES

TEMPLATES = Path(__file__).with_name("templates")


@cache
def environment() -> Environment:
    """The Jinja2 environment: autoescaping on, undefined names are errors."""
    from jinja2 import StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson_compact"] = lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)
    return env


def base_path(request: Request) -> str:
    """Where the app is mounted (``/hrbridge`` in the API server, '' when run on its own)."""
    return str(request.scope.get("root_path") or "").rstrip("/")


def translator(request: Request) -> Translator:
    """The request's translator (set by the app's middleware)."""
    return request.state.t


def render_html(request: Request, template: str, *, status_code: int = 200, **context: Any) -> str:
    """Render ``template`` with the layout's context; returns the HTML text."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    t = translator(request)
    base = base_path(request)

    def url(path: str, **query: Any) -> str:
        shown = {k: v for k, v in query.items() if v not in (None, "")}
        return f"{base}{path}" + (f"?{urlencode(shown)}" if shown else "")

    def lang_url(lang: str) -> str:
        params = dict(request.query_params)
        params["lang"] = lang
        return f"{request.url.path}?{urlencode(params)}"

    def can(resource: str, action: str = "read") -> bool:
        return viewer is not None and permits(viewer, resource, action)

    nav = [p for p in PAGES if viewer is not None and any(permits(viewer, r, "read") for r in p.resources)]
    return environment().get_template(template).render(
        request=request, t=t, viewer=viewer, url=url, lang_url=lang_url, can=can, nav=nav,
        current=request.url.path, **context,
    )


def page(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """An HTML response of ``template`` in the shared layout."""
    return HTMLResponse(render_html(request, template, **context), status_code=status_code)
