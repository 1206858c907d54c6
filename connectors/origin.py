"""Credentials go only to the configured origin: the ``OriginPolicy`` the shared client applies.

An origin is (scheme, host, port), with the default port made explicit. A connector is configured
with one base URL; every URL the client is asked to fetch — a ``__next`` or ``__deferred`` link,
a media link, a token endpoint named in a response, a ``Link`` header, a next-URL in a body — is
compared with that origin (and with any origin the operator trusted explicitly). A URL outside
them is refused by default with :class:`connectors.errors.CrossOriginError`; with
``foreign_links="anonymous"`` it is fetched without any credential. Redirects are followed by
``requests``, which drops the ``Authorization`` header when a redirect leaves the origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from connectors.errors import CrossOriginError

ForeignLinks = Literal["refuse", "anonymous"]
DEFAULT_PORTS = {"http": 80, "https": 443}
ENV_FOREIGN = "HRBRIDGE_HTTP_FOREIGN_LINKS"
ENV_TRUSTED = "HRBRIDGE_HTTP_TRUSTED_ORIGINS"


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (lower case, default port explicit, userinfo dropped).

    Raises ValueError for a URL that is not absolute http(s).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"URL has an invalid port: {url[:200]!r}") from None
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url[:200]!r}")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS[scheme]}"


def strip_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without ``user:password@`` and the (user, password) it carried (None when absent)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=host).geturl(), unquote(parts.username or ""), (
        unquote(parts.password) if parts.password is not None else None)


@dataclass(frozen=True)
class OriginPolicy:
    """What the client does with a URL outside the configured origin.

    * ``foreign_links``: ``"refuse"`` (default) raises CrossOriginError; ``"anonymous"`` fetches it
      with no Authorization header, no configured header other than Accept/User-Agent, no cookie.
    * ``trusted_origins``: further origins that receive credentials, e.g. a token endpoint on its
      own host. Only what the operator configures goes here, never a URL from a response.
    """

    foreign_links: ForeignLinks = "refuse"
    trusted_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.foreign_links not in ("refuse", "anonymous"):
            raise ValueError(f"foreign_links must be 'refuse' or 'anonymous', got {self.foreign_links!r}")
        try:
            trusted = tuple(origin_of(origin) for origin in self.trusted_origins)
        except ValueError as exc:
            raise ValueError(f"trusted_origins: {exc}") from None
        object.__setattr__(self, "trusted_origins", trusted)

    def trusting(self, *origins: str) -> OriginPolicy:
        """A copy that also trusts ``origins`` (URLs or origins)."""
        return OriginPolicy(self.foreign_links, (*self.trusted_origins, *origins))

    def credentials_for(self, url: str, home: str) -> bool:
        """True when ``url`` may carry credentials (its origin is ``home`` or trusted).

        False when it is foreign and the policy fetches foreign links anonymously; raises
        CrossOriginError naming both origins when it refuses them.
        """
        try:
            target = origin_of(url)
        except ValueError as exc:
            raise CrossOriginError(f"refused to follow a link that is not an http(s) URL: {exc}") from None
        if target == home or target in self.trusted_origins:
            return True
        if self.foreign_links == "anonymous":
            return False
        raise CrossOriginError(
            f"refused to follow a link to {target}, outside the configured origin {home} (the credentials "
            f"would go there); if that server is yours, trust it with OriginPolicy(trusted_origins=...) / "
            f'the Connection extra {{"trusted_origins": [...]}} / {ENV_TRUSTED}, or fetch foreign links '
            f'without credentials with foreign_links="anonymous" / {ENV_FOREIGN}=anonymous'
        )

    @classmethod
    def from_settings(cls, extra: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> OriginPolicy:
        """The policy from ``HRBRIDGE_HTTP_FOREIGN_LINKS`` / ``_TRUSTED_ORIGINS`` (comma-separated),
        overridden by the Connection extras ``foreign_links`` / ``trusted_origins``; ValueError when invalid."""
        extra, env = extra or {}, env or {}
        foreign = extra.get("foreign_links") or env.get(ENV_FOREIGN) or "refuse"
        trusted: Iterable[str] | str = extra.get("trusted_origins") or env.get(ENV_TRUSTED) or ()
        if isinstance(trusted, str):
            trusted = [item.strip() for item in trusted.split(",") if item.strip()]
        return cls(str(foreign), tuple(str(item) for item in trusted))
