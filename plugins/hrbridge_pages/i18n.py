"""The pages' language and time zone per request, over the one catalogue of :mod:`hrbridge.i18n`.

The language is the ``hrb_lang`` cookie (set by the switch in the page header) or else the best
match of the browser's ``Accept-Language``; English when nothing matches. Dates are shown in the
viewer's time zone (the ``hrb_tz`` cookie the page script sets from the browser), UTC until known.
"""

from __future__ import annotations

from collections.abc import Mapping

from hrbridge.i18n import (  # noqa: F401 - the pages import these from here
    CATALOGUE_FILE,
    LANGUAGES,
    MissingMessage,
    Translator,
    catalogue,
    negotiate,
    zone,
)

LANG_COOKIE, TZ_COOKIE = "hrb_lang", "hrb_tz"


def translator_for(cookies: Mapping[str, str], accept_language: str | None, lang: str | None = None) -> Translator:
    """The translator of a request: explicit ``lang`` (if valid), else cookie/browser language."""
    chosen = lang if lang in LANGUAGES else negotiate(cookies.get(LANG_COOKIE), accept_language)
    return Translator(chosen, zone(cookies.get(TZ_COOKIE)))
