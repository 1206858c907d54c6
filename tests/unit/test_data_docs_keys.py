"""Where a run's Data Docs pages live in the artefact store, and what a path under the site may name."""

from __future__ import annotations

import pytest

from hrbridge.artefacts import ArtefactError
from hrbridge.data_docs import artefact_for, gx_version, index_key, site_config, static_key


def test_pages_belong_to_the_run_and_static_assets_are_shared() -> None:
    assert index_key("run-1") == "validation/run-1/data-docs/index.html"
    assert artefact_for("run-1", "validations/s/run-1/20261206T000000.000000Z/b.html") == (
        "validation/run-1/data-docs/validations/s/run-1/20261206T000000.000000Z/b.html")
    assert artefact_for("run-1", "static/styles/x.css") == artefact_for("run-2", "static/styles/x.css") == (
        static_key("static/styles/x.css"))
    assert gx_version() in static_key("static/a.css")


@pytest.mark.parametrize("path", ["../other-run/data-docs/index.html", "validations/../../x.html", "", "a//b.html",
                                  ".hidden/index.html"])
def test_a_path_cannot_leave_the_site(path: str) -> None:
    with pytest.raises(ArtefactError):
        artefact_for("run-1", path)


def test_the_site_config_names_the_backend_and_the_run_only() -> None:
    from hrbridge.artefacts import DatabaseArtefactStore

    store = DatabaseArtefactStore.__new__(DatabaseArtefactStore)
    backend = site_config(store, "run-1")["store_backend"]
    assert backend["module_name"] == "hrbridge.data_docs_backend" and backend["run"] == "run-1"
    assert set(backend) == {"module_name", "class_name", "store", "run"}  # nothing secret, JSON only


def test_cdn_links_point_at_the_shipped_copies_and_others_are_dropped() -> None:
    from hrbridge.data_docs import VENDOR, localise, vendor_files

    page = ('<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
            '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" integrity="sha384-x"'
            ' crossorigin="anonymous"></script><script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
            '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1">'
            '<a href="https://greatexpectations.io">GX</a>')
    out = localise(page, "validations/suite/run/time/batch.html")
    assert '<link rel="stylesheet" href="../../../../static/vendor/bootstrap/css/bootstrap.min.css"/>' in out
    assert '<script src="../../../../static/vendor/popper/popper.min.js"></script>' in out  # no SRI on own copies
    assert "vega" not in out and 'src="../../../../static/images/logo-long.png"' in out
    assert '<a href="https://greatexpectations.io">' in out  # links a reader may follow stay
    assert localise(page, "index.html").count('"static/vendor/') == 2
    shipped = {name for name, _ in vendor_files()}
    assert {f"static/vendor/{copy}" for copy in VENDOR.values()} <= shipped
