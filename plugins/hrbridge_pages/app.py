"""The FastAPI app of hrbridge's pages: page modules, static assets, language, errors, headers.

The Airflow plugin mounts it at ``/hrbridge``. Every route checks the viewer's permission on the
server (:func:`.access.requires`); a denied request gets 403 with no data, a request without a
valid Airflow token is sent to Airflow's login (pages) or gets 401 (API).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from plugins.hrbridge_pages import pages as pages_package
from plugins.hrbridge_pages.access import Forbidden, NotSignedIn, airflow_user
from plugins.hrbridge_pages.i18n import LANG_COOKIE, LANGUAGES, translator_for
from plugins.hrbridge_pages.render import render_html

STATIC = Path(__file__).with_name("static")
CSP = ("default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return "/api/" in path or "/media/" in path or "application/json" in request.headers.get("accept", "")


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host")


def create_app(resolve_user: Callable[[Request], Awaitable[Any]] | None = None) -> FastAPI:
    """Build the app; ``resolve_user`` defaults to Airflow's own token check (:func:`airflow_user`)."""
    app = FastAPI(title="hrbridge pages", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.resolve_user = resolve_user or airflow_user
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for info in sorted(pkgutil.iter_modules(pages_package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{pages_package.__name__}.{info.name}")
        app.include_router(module.router)

    @app.middleware("http")
    async def language_and_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        chosen = request.query_params.get("lang")
        request.state.t = translator_for(request.cookies, request.headers.get("accept-language"), chosen)
        if request.method in MUTATING and not _same_origin(request):
            response: Response = JSONResponse({"detail": "cross-origin request refused"}, status_code=403)
        else:
            response = await call_next(request)
        if chosen in LANGUAGES:
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax", path="/")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")  # "no-referrer" makes form POSTs say Origin: null
        if not request.url.path.startswith(f"{request.scope.get('root_path', '')}/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "forbidden"}, status_code=403)
        return HTMLResponse(render_html(request, "forbidden.html"), status_code=403)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.method == "GET" and not _wants_json(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/auth/login?next={quote(target, safe='/')}", status_code=303)
        return JSONResponse({"detail": "not signed in"}, status_code=401)

    @app.exception_handler(LookupError)
    async def not_found(request: Request, exc: LookupError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "not found"}, status_code=404)
        return HTMLResponse(render_html(request, "not_found.html"), status_code=404)

    return app
