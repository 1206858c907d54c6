"""$metadata from a server: EDMX parsed within bounds; DTDs (XXE, entity expansion) refused."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.errors import LimitExceeded, MalformedResponseError
from connectors.limits import Limits
from connectors.odata import parse_metadata
from sandbox.successfactors import load_model, metadata_document

EDM = "http://schemas.microsoft.com/ado/2008/09/edm"


def edmx(types: dict[str, dict[str, str]], key: str = "id") -> bytes:
    """A small EDMX document with one entity set per entity type (properties name → EDM type)."""
    body = "".join(
        f'<EntityType Name={quoteattr(name)}><Key><PropertyRef Name="{key}"/></Key>'
        + "".join(f"<Property Name={quoteattr(p)} Type={quoteattr(t)}/>" for p, t in props.items())
        + "</EntityType>" for name, props in types.items())
    sets = "".join(f"<EntitySet Name={quoteattr(n)} EntityType={quoteattr('NS.' + n)}/>" for n in types)
    return (f'<?xml version="1.0"?><edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">'
            f'<edmx:DataServices><Schema Namespace="NS" xmlns="{EDM}">{body}'
            f"<EntityContainer>{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>").encode()


def test_the_sandbox_metadata_parses_with_keys_types_and_navigation() -> None:
    sets = parse_metadata(metadata_document(load_model())).entity_sets
    assert sets["JobApplication"].key == ["applicationId"]
    assert sets["JobApplication"].properties["cust_aiOverallScore"] == "Edm.Decimal"
    assert "resume" in sets["Candidate"].navigation


def test_external_entities_are_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    document = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY leak SYSTEM "file://{secret}">]>'
                f'<Schema xmlns="{EDM}"><EntityType Name="&leak;"/></Schema>').encode()
    with pytest.raises(MalformedResponseError, match="declares a DTD") as info:
        parse_metadata(document)
    assert "TOP-SECRET" not in str(info.value)


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    document = f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><Schema xmlns="{EDM}"><EntityType Name="&lol9;"/></Schema>'
    with pytest.raises(MalformedResponseError, match="DTD"):
        parse_metadata(document.encode())


def test_depth_and_size_are_bounded() -> None:
    deep = b"<a>" * 200 + b"</a>" * 200
    with pytest.raises(LimitExceeded, match="max_depth=64"):
        parse_metadata(deep)
    big = edmx({"E": {"id": "Edm.Int64"}})
    with pytest.raises(LimitExceeded, match="max_body_bytes"):
        parse_metadata(big, Limits(max_body_bytes=len(big) - 1))


def test_not_xml_and_no_types_are_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="not XML"):
        parse_metadata(b"<html><body>maintenance")
    with pytest.raises(MalformedResponseError, match="no entity types"):
        parse_metadata(f'<Schema xmlns="{EDM}"/>'.encode())


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)


@given(st.dictionaries(names, st.dictionaries(names, st.sampled_from(
    ["Edm.String", "Edm.Int64", "Edm.DateTimeOffset", "Edm.Decimal"]), max_size=6), min_size=1, max_size=4))
def test_any_edmx_round_trips(types: dict[str, dict[str, str]]) -> None:
    parsed = parse_metadata(edmx(types)).entity_sets
    assert set(parsed) == set(types)
    assert all(parsed[name].properties == props and parsed[name].key == ["id"] for name, props in types.items())


@given(st.binary(max_size=2000) | st.text(alphabet='<>/="!?[]&;:xmlnsEDOCTYPEabc ', max_size=2000).map(str.encode))
def test_any_bytes_parse_or_raise_malformed_response(document: bytes) -> None:
    try:
        parse_metadata(document, Limits(max_depth=16))
    except MalformedResponseError:
        pass
