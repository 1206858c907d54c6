"""Every shell example in README.md and docs/*.md runs as documented (exit code, and output where shown).

Each document runs in order in a fresh HRBRIDGE_HOME and working folder, against fresh sandboxes,
with the environment ``hrbridge sandbox`` prints. Blocks marked ``<!-- not-run: reason -->`` are
skipped (their reasons are listed by the first test so they stay few and deliberate).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.docs.examples import REPO, Block, documents, output_matches, parse
from tests.docs.runner import DocRunner

BLOCKS: dict[str, list[Block]] = {str(p.relative_to(REPO)): parse(p) for p in documents()}
RUNNABLE = sorted(doc for doc, blocks in BLOCKS.items() if any(b.commands and not b.not_run for b in blocks))
SF_PORT, INTERVIEW_PORT = 8081, 8082  # what `hrbridge sandbox` uses and the documents show


def test_documents_label_every_shell_example() -> None:
    problems = [p for blocks in BLOCKS.values() for b in blocks for p in b.problems]
    assert problems == []
    not_run = [f"{b.doc}:{b.line}: {b.not_run}" for blocks in BLOCKS.values() for b in blocks if b.not_run]
    assert len(not_run) <= 12, "\n".join(not_run)  # illustrative blocks stay few


def test_the_documents_have_examples_to_run() -> None:
    assert "README.md" in RUNNABLE and len(RUNNABLE) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("doc", RUNNABLE)
def test_shell_examples_run_as_documented(doc: str, sf_sandbox, interview_sandbox, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    (work / "benchmarks").symlink_to(REPO / "benchmarks")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRBRIDGE_")}
    env.update({
        "HRBRIDGE_HOME": str(home), "HRBRIDGE_SF_URL": f"http://127.0.0.1:{SF_PORT}", "HRBRIDGE_SF_USER": "sfadmin",
        "HRBRIDGE_SF_PASSWORD": "sandbox-secret", "HRBRIDGE_SF_COMPANY_ID": "SFPART000001",
        "HRBRIDGE_INTERVIEW_URL": f"http://127.0.0.1:{INTERVIEW_PORT}",
        "HRBRIDGE_INTERVIEW_API_KEY": "sandbox-interview-key",
    })
    runner = DocRunner(work, env, {SF_PORT: int(sf_sandbox.url.rsplit(":", 1)[1]), INTERVIEW_PORT: int(interview_sandbox.url.rsplit(":", 1)[1])})
    runner.env = {k: runner.rewrite(v) for k, v in env.items()}
    failures: list[str] = []
    try:
        for block in BLOCKS[doc]:
            if block.not_run or not block.commands:
                continue
            outcome = None
            for command in block.commands:
                outcome = runner.run(command.text)
                if outcome.code != command.exit_code:
                    failures.append(f"{doc}:{command.line}: `{command.text}` exited {outcome.code}, documented "
                                    f"{command.exit_code}\n{(outcome.stdout + outcome.stderr)[-1500:]}")
            if block.output is not None and outcome is not None and not output_matches(block.output, outcome.stdout):
                failures.append(f"{doc}:{block.line}: output differs from the document:\n{outcome.stdout}")
    finally:
        runner.close()
    assert not failures, "\n\n".join(failures)
