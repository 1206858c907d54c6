"""The list of pages: each page module declares one :class:`Page`; the layout's navigation and
the home page list the pages the viewer may open."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """A page: its URL below the app (``slug``), title message key, and the resources that open it.

    The page appears in the navigation for a viewer who may read any of ``resources``.
    """

    slug: str
    title: str
    summary: str
    resources: tuple[str, ...]
    order: int = 50


PAGES: list[Page] = []


def register(page: Page) -> Page:
    """Add ``page`` to the navigation (kept sorted by ``order``) and return it."""
    PAGES.append(page)
    PAGES.sort(key=lambda p: p.order)
    return page
