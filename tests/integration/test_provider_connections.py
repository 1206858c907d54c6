"""hrbridge registered as an Airflow provider: connection types in the form, and "Test" against the sandboxes."""

from __future__ import annotations

import base64
import json

import pytest

from tests.factories.successfactors import SANDBOX_CLIENT, SANDBOX_COMPANY

ASSERTION = base64.b64encode(b"<saml2:Assertion xmlns:saml2='urn:oasis:names:tc:SAML:2.0:assertion'/>").decode()


@pytest.fixture(scope="module")
def providers():  # noqa: ANN201 - airflow types are imported lazily
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def button_test(conn_id: str, monkeypatch: pytest.MonkeyPatch, **fields: object) -> tuple[bool, str]:
    """What Airflow's "Test" button does: the Connection from the form, its hook's test_connection()."""
    from airflow.models.connection import Connection

    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
    conn = Connection(conn_id=conn_id, conn_type=str(fields["conn_type"]), host=fields.get("host"),
                      login=fields.get("login"), password=fields.get("password"),
                      extra=json.dumps(fields.get("extra") or {}))
    return conn.test_connection()


def test_the_connection_types_are_listed_without_the_http_provider(providers) -> None:
    hooks = providers.hooks
    assert "http" not in hooks  # nothing borrowed from apache-airflow-providers-http
    assert hooks["hrbridge_successfactors"].hook_class_name == "plugins.hrbridge_provider.hooks.SuccessFactorsHook"
    assert hooks["hrbridge_interview"].hook_name == "AI interview platform (hrbridge)"
    assert providers.providers["hrbridge"].data["package-name"] == "hrbridge"
    widgets = providers.connection_form_widgets
    sf_fields = {k.split("__")[-1]: w for k, w in widgets.items() if k.startswith("extra__hrbridge_successfactors__")}
    assert set(sf_fields) == {"company_id", "rate_limit", "auth_scheme", "client_id", "token_url", "assertion"}
    assert sf_fields["assertion"].is_sensitive and not sf_fields["company_id"].is_sensitive
    assert sf_fields["auth_scheme"].field["schema"]["enum"] == ["basic", "saml_bearer"]
    behaviour = providers.field_behaviours["hrbridge_interview"]
    assert behaviour["relabeling"]["password"] == "API key" and "login" in behaviour["hidden_fields"]
    assert "hrbridge.operations.notify.FailureNotifier" in providers.notification


def test_successfactors_test_succeeds_with_basic_and_with_saml_bearer(sf_sandbox, monkeypatch) -> None:
    ok, message = button_test("sf_basic", monkeypatch, conn_type="hrbridge_successfactors", host=sf_sandbox.url,
                         login="sfadmin", password="sandbox-secret", extra={"company_id": SANDBOX_COMPANY})
    assert ok and message == f"SuccessFactors at 127.0.0.1:{sf_sandbox.port} accepted user sfadmin@SFPART000001"

    ok, message = button_test("sf_saml", monkeypatch, conn_type="hrbridge_successfactors", host=sf_sandbox.url,
                         extra={"company_id": SANDBOX_COMPANY, "auth_scheme": "saml_bearer",
                                "client_id": SANDBOX_CLIENT, "assertion": ASSERTION})
    assert ok and "OAuth client hrbridge-sandbox-client@SFPART000001" in message
    ok, _ = button_test("sf_saml_key", monkeypatch, conn_type="hrbridge_successfactors", host=sf_sandbox.url,
                   login="sfadmin", password="-----BEGIN PRIVATE KEY-----sandbox",
                   extra={"company_id": SANDBOX_COMPANY, "auth_scheme": "saml_bearer", "client_id": SANDBOX_CLIENT,
                          "token_url": f"{sf_sandbox.url}/oauth/token"})
    assert ok
    assert "POST /oauth/idp" in sf_sandbox.request_log  # the private-key path asked SAP's IdP for the assertion
    assert sf_sandbox.request_log.count("POST /oauth/token") == 2


def test_successfactors_test_fails_with_a_clear_message_on_bad_credentials(sf_sandbox, monkeypatch) -> None:
    ok, message = button_test("sf_bad", monkeypatch, conn_type="hrbridge_successfactors", host=sf_sandbox.url,
                         login="sfadmin", password="not-the-password", extra={"company_id": SANDBOX_COMPANY})
    assert not ok and message.startswith("AuthenticationError:") and "sfadmin@SFPART000001" in message
    assert "not-the-password" not in message

    ok, message = button_test("sf_stranger", monkeypatch, conn_type="hrbridge_successfactors", host=sf_sandbox.url,
                         extra={"company_id": SANDBOX_COMPANY, "auth_scheme": "saml_bearer",
                                "client_id": "stranger", "assertion": ASSERTION})
    assert not ok and "invalid_client" in message and ASSERTION not in message

    ok, message = button_test("sf_incomplete", monkeypatch, conn_type="hrbridge_successfactors", host=sf_sandbox.url,
                         extra={"auth_scheme": "saml_bearer"})
    assert not ok and message == ("MissingCredentialsError: SuccessFactors SAML-bearer auth needs company_id, "
                                  "client_id, assertion, or login + private key (password)")
    ok, message = button_test("sf_scheme", monkeypatch, conn_type="hrbridge_successfactors", host=sf_sandbox.url,
                         extra={"auth_scheme": "kerberos"})
    assert not ok and "auth_scheme 'kerberos' is not supported" in message


def test_interview_platform_test_succeeds_and_fails_clearly(interview_sandbox, monkeypatch) -> None:
    ok, message = button_test("iv_ok", monkeypatch, conn_type="hrbridge_interview", host=interview_sandbox.url,
                         password="sandbox-interview-key")
    assert ok and "accepted the API key" in message
    ok, message = button_test("iv_bad", monkeypatch, conn_type="hrbridge_interview", host=interview_sandbox.url,
                         password="wrong-key-123")
    assert not ok and "rejected the API key (HTTP 401)" in message and "wrong-key-123" not in message


def test_the_hook_builds_a_saml_bearer_connector_for_the_dags(sf_sandbox, monkeypatch) -> None:
    from plugins.hrbridge_provider import successfactors

    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_SUCCESSFACTORS", json.dumps({
        "conn_type": "hrbridge_successfactors", "host": sf_sandbox.url,
        "extra": {"company_id": SANDBOX_COMPANY, "auth_scheme": "saml_bearer", "client_id": SANDBOX_CLIENT,
                  "assertion": ASSERTION, "rate_limit": 20}}))
    sf = successfactors()
    assert sum(1 for _ in sf.read("JobRequisition")) == 12 and sf.client.limiter.rate == 20
    assert ASSERTION not in repr(sf.client.auth)
