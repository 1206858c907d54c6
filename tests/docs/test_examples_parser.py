"""The documents' example conventions, parsed the way test_shell_examples reads them."""

from __future__ import annotations

from pathlib import Path

from tests.docs.examples import REPO, commands_of, output_matches, parse, split_comment


def test_comments_end_a_line_outside_quotes_only() -> None:
    assert split_comment('hrbridge hold add --reason "case #17"  # exit 2') == (
        'hrbridge hold add --reason "case #17"', "exit 2")
    assert split_comment("curl localhost:8766/#anchor") == ("curl localhost:8766/#anchor", "")


def test_continuations_quotes_and_exit_codes() -> None:
    lines = ["hrbridge access check --role x \\", "    --action read   # denied: exit 3",
             "export CONN='{\"host\": \"h\",", "  \"login\": \"u\"}'", "# a comment line", "hrbridge keys status"]
    commands = commands_of(lines, 10)
    assert [(c.text, c.exit_code, c.line) for c in commands] == [
        ("hrbridge access check --role x --action read", 3, 10),
        ("export CONN='{\"host\": \"h\",\n\"login\": \"u\"}'", 0, 12),
        ("hrbridge keys status", 0, 15),
    ]


def test_exits_in_prose_are_not_exit_codes() -> None:
    assert commands_of(["hrbridge audit verify   # a broken log exits 1"], 1)[0].exit_code == 0


def test_output_blocks_match_with_ellipses() -> None:
    assert output_matches(["run cs-...", "  read 80", "..."], "run cs-2026-1\n  read 80\nmore\nlines\n")
    assert output_matches(["a", "...", "z"], "a\nz")
    assert not output_matches(["run cs-...", "  read 80"], "run cs-1\n  read 81")
    assert not output_matches(["a"], "a\nb")


def test_markers_outputs_and_unlabelled_commands(tmp_path: Path) -> None:
    doc = REPO / "docs" / "_example_under_test.md"
    doc.write_text("<!-- not-run: needs your SAP system -->\n```sh\nhrbridge extract\n```\n\n"
                   "```sh\nhrbridge keys status\n```\n```output\nmaster key ...\n```\n\n"
                   "```bash\nhrbridge x\n```\n\n```\nhrbridge y\n```\n", encoding="utf-8")
    try:
        blocks = parse(doc)
    finally:
        doc.unlink()
    assert blocks[0].not_run == "needs your SAP system"
    assert blocks[1].output == ["master key ..."] and blocks[1].not_run is None
    assert "label shell examples `sh`" in blocks[2].problems[0]
    assert "unlabelled block starts with a command" in blocks[3].problems[0]
