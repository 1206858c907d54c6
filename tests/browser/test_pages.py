"""Each role signs in through Airflow's login page and opens its pages in real Chromium: what each
must see is there, what it must not see is absent; requeue and chain verification run from the
page; the language switch and the viewer's time zone work; screenshots feed docs/guides/."""

from __future__ import annotations

import io
import re

import pytest

from tests.browser.conftest import open_page, screenshot
from tests.browser.server import CLIP_BYTES

pytestmark = pytest.mark.slow


def test_hr_sees_scores_and_contacts_but_no_video(signed_in, pages_server) -> None:
    facts = pages_server.facts
    page = open_page(signed_in.page("hr.demo"), pages_server, f"/candidates/{facts.own_candidate}")
    assert page.locator("h1").inner_text().strip() == "Chen Mei"
    assert facts.secret_email in page.locator("#basic").inner_text()
    assert page.locator(".result .overall").first.inner_text() == "78.5"
    assert page.locator("table.dimensions").first.inner_text().count("沟通能力") == 1
    assert page.locator("table.factors").count() == 1
    assert page.locator("video").count() == 0 and "/media/clips/" not in page.content()
    assert page.locator("form.score-edit").count() == 1
    screenshot(page, "hr-candidate-zh")
    nav = page.locator("header nav").inner_text()
    assert "面试结果校验" in nav and "删除日志" not in nav


def test_hr_reads_a_run_masked_and_requeues_from_the_page(signed_in, pages_server) -> None:
    page = open_page(signed_in.page("hr.demo"), pages_server, "/validation")
    assert page.locator("svg rect").count() == 3  # one bar per run that checked something
    screenshot(page, "hr-validation-zh")
    page = open_page(page, pages_server, "/validation/runs/vr-3")
    held = page.locator("#held-table").inner_text()
    assert "R-900" in held and "R-901" in held and "leak.me@example.com" not in page.content()
    page.locator("#families a", has_text="Finance").first.click()
    assert page.locator("#held-table tbody tr").count() == 1
    page = open_page(page, pages_server, "/validation/runs/vr-3?lang=en")
    screenshot(page, "hr-validation-run-en")
    docs = page.locator("#data-docs-link").get_attribute("href")
    assert docs == "/hrbridge/validation/runs/vr-3/data-docs/index.html"
    site = page.request.get(f"{pages_server.url}{docs}")  # GX's own Data Docs site, built by the Checkpoint
    assert site.status == 200 and "validations/interview_results/vr-3/" in site.text()
    assert "default-src 'self'" in site.headers["content-security-policy"]
    css = page.request.get(f"{pages_server.url}/hrbridge/validation/runs/vr-3/data-docs/static/styles/"
                           "data_docs_default_styles.css")
    assert css.status == 200 and css.headers["content-type"].startswith("text/css")
    # The same site through the artefact downloads (where the stored HR ops page links to it).
    shared = page.request.get(f"{pages_server.url}/hrbridge/api/artefacts/validation/vr-3/data-docs/static/vendor/"
                              "jquery/jquery.min.js")
    assert shared.status == 200 and "javascript" in shared.headers["content-type"]
    docs_page = page.context.new_page()
    errors: list[str] = []
    docs_page.on("pageerror", lambda error: errors.append(str(error)))
    docs_page.on("requestfailed", lambda request: errors.append(request.url))
    docs_page.goto(f"{pages_server.url}{docs}")  # styled and scripted from our own copies, no CDN
    docs_page.wait_for_selector("table tbody tr td a", timeout=15_000)  # bootstrap-table filled the run's index
    assert errors == [] and docs_page.locator("table tbody tr", has_text="vr-3").count() == 1  # the one batch
    assert docs_page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"  # Bootstrap
    screenshot(docs_page, "data-engineer-data-docs-en")
    docs_page.locator("table tbody tr", has_text="vr-3").click()
    docs_page.wait_for_selector("text=Expectation Validation Result")
    assert "overall_score" in docs_page.content() and errors == []
    docs_page.close()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#requeue").click()
    page.wait_for_selector("#requeue-result")
    assert "2 results were sent back" in page.locator("#requeue-result").inner_text()
    assert page.locator("#held-table").count() == 0


def test_hr_downloads_migration_quarantine_with_values(signed_in, pages_server) -> None:
    from openpyxl import load_workbook

    page = open_page(signed_in.page("hr.demo"), pages_server, "/migration/runs/mig-demo")
    rows = page.locator("#quarantine-rows").inner_text()
    assert "not a date" in rows and "（个人数据，已加密" in rows and "hrb1:" not in page.content()
    with page.expect_download() as csv_download:
        page.locator("#download-csv").click()
    text = open(csv_download.value.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith("批次号,源文件行号,列,原值") and "not a date" in text and "hrb1:" not in text
    with page.expect_download() as xlsx_download:
        page.locator("#download-xlsx").click()
    sheet = load_workbook(io.BytesIO(open(xlsx_download.value.path(), "rb").read())).active
    assert [c.value for c in sheet[1]][:4] == ["批次号", "源文件行号", "列", "原值"]
    assert any("not a date" == c.value for row in sheet.iter_rows(min_row=2) for c in row)
    screenshot(page, "hr-migration-run-zh")


def test_manager_sees_video_through_a_signed_link_and_cannot_edit_scores(signed_in, pages_server) -> None:
    import requests

    facts = pages_server.facts
    page = open_page(signed_in.page("manager.demo"), pages_server, f"/candidates/{facts.own_candidate}")
    video = page.locator("video")
    assert video.count() == 1
    assert page.locator("form.score-edit").count() == 0
    assert facts.secret_email not in page.content()
    src = video.get_attribute("src")
    assert src.startswith("/hrbridge/media/clips/R-100/") and "sig=" in src
    clip = page.request.get(f"{pages_server.url}{src}")
    assert clip.status == 200 and clip.body() == CLIP_BYTES
    screenshot(page, "manager-candidate-zh")
    hr_token = pages_server.token("hr.demo")
    assert requests.get(f"{pages_server.url}{src}", headers={"Authorization": f"Bearer {hr_token}"},
                        timeout=30).status_code == 403
    tampered = src[:-1] + ("0" if src[-1] != "0" else "1")
    assert page.request.get(f"{pages_server.url}{tampered}").status == 403
    other = open_page(page, pages_server, f"/candidates/{facts.other_candidate}")
    assert "Wang" not in other.content() and other.locator("h1").inner_text() == "您的角色无权访问"
    page = open_page(page, pages_server, "/candidates?lang=en")
    assert "Chen" in page.locator("#candidates").inner_text() and "Wang" not in page.content()
    screenshot(page, "manager-candidates-en")


def test_manager_sees_the_portrait_at_hire_and_the_later_slot(signed_in, pages_server) -> None:
    page = open_page(signed_in.page("manager.demo"), pages_server, "/archive/p-own")
    growth = page.locator("#growth").inner_text()
    assert "72.0" in growth and "85.0" in growth
    assert page.locator("#later-slot").count() == 1
    screenshot(page, "manager-archive-zh")
    assert open_page(page, pages_server, "/archive/p-other").locator("h1").inner_text() == "您的角色无权访问"


def test_admin_sees_processes_but_no_candidate_personal_data(signed_in, pages_server) -> None:
    page = open_page(signed_in.page("admin.demo", locale="en-US"), pages_server, "/")
    nav = page.locator("header nav").inner_text()
    assert "Interview result checks" in nav and "Legacy migration" in nav
    assert "Candidates" not in nav and "Employee archive" not in nav and "Deletion log" not in nav
    page = open_page(page, pages_server, "/validation/runs/vr-3")
    assert page.locator("#checks").count() == 1 and page.locator("#held-table").count() == 0
    assert "R-900" not in page.content()
    page = open_page(page, pages_server, "/migration/runs/mig-demo")
    assert page.locator("#quarantine-rows").count() == 1 and "not a date" not in page.content()
    assert "张" not in page.content()  # legacy employees' names never reach the administrator
    screenshot(page, "admin-migration-run-en")
    assert open_page(page, pages_server, "/candidates").locator("h1").inner_text() == "Not available to your role"


def test_auditor_verifies_the_chain_exports_and_prints_on_a4(signed_in, pages_server, tmp_path) -> None:
    from pypdf import PdfReader

    page = open_page(signed_in.page("auditor.demo"), pages_server, "/deletion-log")
    assert page.locator("header nav").inner_text().split() == ["删除日志"]
    content = page.content()
    assert "Mei" not in content and "Chen" not in content and "C-100" not in content
    assert page.locator("#summary").inner_text().count("not-hired-180d") >= 1
    assert not re.search(r"[0-9a-f]{64}", page.locator("main").inner_text())  # no full hashes in the main view
    assert "2026/1/15 10:00" in page.locator("#entries").inner_text()  # 02:00 UTC seen from Shanghai
    page.locator("#verify").click()
    page.wait_for_selector("#verify-result")
    assert "日志链校验通过：全部 7 条记录完整，2 个运行签名有效。" in page.locator("#verify-result").inner_text()
    screenshot(page, "auditor-deletion-log-zh")
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    exported = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert exported[0].startswith("# 日志链校验通过") and exported[1].startswith("序号,执行时间")
    assert len(exported) == 2 + pages_server.facts.log_entries and "+08:00" in exported[2]
    page.emulate_media(media="print")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    pdf = tmp_path / "log.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    reader = PdfReader(str(pdf))
    assert abs(float(reader.pages[0].mediabox.width) - 595.3) < 1
    page.set_viewport_size({"width": 718, "height": 1000})  # A4 minus 12 mm margins at 96 dpi
    assert page.evaluate("document.documentElement.scrollWidth") <= 718
    page.emulate_media(media="screen")


def test_auditor_filters_by_request_and_reads_an_entry_in_words(signed_in, pages_server) -> None:
    facts = pages_server.facts
    page = open_page(signed_in.page("auditor.demo", locale="en-US", timezone="Europe/Berlin"), pages_server,
                     f"/deletion-log?request={facts.request_id}")
    assert "Entries (0)" in page.locator("main").inner_text()
    page = open_page(page, pages_server, "/deletion-log?run=purge-2026-02")
    assert page.locator("#entries tbody tr").count() == 2
    page = open_page(page, pages_server, "/deletion-log/entries/6")
    words = page.locator("#entry-words").inner_text()
    assert words.startswith("On 3 Feb 2026, 10:00:00") and "deletion requested at another system" in words
    assert "consent" in page.locator("dl.facts").first.inner_text()
    screenshot(page, "auditor-entry-en")
    page = open_page(page, pages_server, "/deletion-log/holds")
    assert "litigation 2026-014" in page.locator("#holds").inner_text() and "C-88" not in page.content()
    assert page.locator("#requests tbody tr").count() == 1
    screenshot(page, "auditor-holds-en")
    assert open_page(page, pages_server, "/candidates/C-100").locator("h1").inner_text() == "Not available to your role"


def test_language_switch_and_browser_language(signed_in, pages_server) -> None:
    page = open_page(signed_in.page("hr.demo", locale="en-US"), pages_server, "/validation")
    assert page.locator("h1").inner_text() == "Interview result checks"
    page.locator(".lang-switch a", has_text="中文").click()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == "面试结果校验"
    page = open_page(page, pages_server, "/candidates")
    assert page.locator("h1").inner_text() == "候选人"  # the choice is remembered
    page.locator(".lang-switch a", has_text="English").click()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == "Candidates"


def test_broken_chain_names_the_first_bad_entry(signed_in, pages_server) -> None:
    import sqlalchemy as sa

    hub = sa.create_engine(pages_server.env["HRBRIDGE_DB_URL"])
    with hub.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS deletion_log_no_update")
        conn.exec_driver_sql("UPDATE deletion_log SET legal_basis = 'edited' WHERE seq = 3")
    hub.dispose()
    page = open_page(signed_in.page("auditor.demo"), pages_server, "/deletion-log")
    page.locator("#verify").click()
    page.wait_for_selector("#verify-result")
    result = page.locator("#verify-result").inner_text()
    assert "第一条问题记录：第 3 条" in result
    page.locator("#first-bad").click()
    assert page.locator("h1").inner_text() == "第 3 条记录"
