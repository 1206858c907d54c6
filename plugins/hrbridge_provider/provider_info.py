"""hrbridge as an Airflow provider: its connection types, their form fields, its notifiers.

Airflow finds :func:`get_provider_info` through the ``apache_airflow_provider`` entry point in
setup.cfg, so ``hrbridge_successfactors``, ``hrbridge_interview`` and ``hrbridge_sap_hcm`` appear in
the Connection form (with the fields below and a working "Test") without the HTTP provider.
Fields are declared here (``conn-fields`` / ``ui-field-behaviour``), the form Airflow 3.2+ reads
without importing the hooks; values land in the Connection's extra under the field names.
"""

from __future__ import annotations

from typing import Any

from hrbridge import __version__

HOOKS = "plugins.hrbridge_provider.hooks"


def _text(label: str, description: str, default: str | None = None, enum: list[str] | None = None,
          secret: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"]}
    if default is not None:
        schema["default"] = default
    if enum:
        schema["enum"] = enum
    if secret:
        schema["format"] = "password"
    return {"label": label, "description": description, "schema": schema}


def _rate_limit(default: int) -> dict[str, Any]:
    return {"label": "Rate limit (requests/second)",
            "description": "Per task; the Airflow pool of the same name caps how many tasks call at once.",
            "schema": {"type": ["number", "null"], "minimum": 0, "default": default}}


SUCCESSFACTORS = {
    "connection-type": "hrbridge_successfactors",
    "hook-class-name": f"{HOOKS}.SuccessFactorsHook",
    "hook-name": "SAP SuccessFactors (hrbridge)",
    "conn-fields": {
        "company_id": _text("Company ID", "SuccessFactors company id, e.g. SFPART000001"),
        "rate_limit": _rate_limit(10),
        "auth_scheme": _text("Auth scheme", "basic: login@company_id + password; saml_bearer: OAuth 2.0 "
                             "SAML-bearer grant (client id, token URL, assertion or private key)",
                             default="basic", enum=["basic", "saml_bearer"]),
        "client_id": _text("OAuth client ID (SAML bearer)", "API key of the OAuth client registered in SuccessFactors"),
        "token_url": _text("Token URL (SAML bearer)", "default: <host>/oauth/token"),
        "assertion": _text("SAML assertion (SAML bearer)", "base64 assertion signed by your IdP; when empty, "
                           "the password is the client's private key and login the user", secret=True),
    },
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port", "extra"],
        "relabeling": {"host": "API server URL", "login": "User (basic) / token user (SAML bearer)",
                       "password": "Password (basic) / private key (SAML bearer)"},
        "placeholders": {"host": "https://api4.successfactors.com", "login": "sfadmin",
                         "company_id": "SFPART000001", "client_id": "hrbridge-client"},
    },
}
INTERVIEW = {
    "connection-type": "hrbridge_interview",
    "hook-class-name": f"{HOOKS}.InterviewPlatformHook",
    "hook-name": "AI interview platform (hrbridge)",
    "conn-fields": {
        "kind": _text("Platform kind", "adapter registered in connectors.interview (hrbridge: the published contract)",
                      default="hrbridge"),
        "rate_limit": _rate_limit(50),
    },
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port", "login", "extra"],
        "relabeling": {"host": "Platform URL", "password": "API key"},
        "placeholders": {"host": "https://interviews.example.com"},
    },
}
SAP_HCM = {
    "connection-type": "hrbridge_sap_hcm",
    "hook-class-name": f"{HOOKS}.SapHcmHook",
    "hook-name": "SAP HCM over RFC (hrbridge)",
    "conn-fields": {
        "sysnr": _text("System number", "e.g. 00", default="00"),
        "client": _text("Client", "e.g. 100"),
        "lang": _text("Language", "logon language", default="EN"),
    },
    "ui-field-behaviour": {"hidden-fields": ["schema", "port", "extra"],
                           "relabeling": {"host": "Application server"}, "placeholders": {}},
}


def get_provider_info() -> dict[str, Any]:
    """The provider description Airflow's ProvidersManager reads (package name must match the distribution)."""
    return {
        "package-name": "hrbridge",
        "name": "hrbridge",
        "description": "Wire AI interviewing into the enterprise HR data flow: SAP SuccessFactors, "
                      "SAP HCM and AI-interview platform connections, failure notifiers.",
        "versions": [__version__],
        "connection-types": [SUCCESSFACTORS, INTERVIEW, SAP_HCM],
        "notifications": ["hrbridge.operations.notify.FailureNotifier",
                          "hrbridge.operations.notify.SlackWebhookNotifier",
                          "hrbridge.operations.notify.JsonWebhookNotifier",
                          "hrbridge.operations.notify.SmtpFailureNotifier"],
    }
