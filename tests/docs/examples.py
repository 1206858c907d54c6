"""Shell examples in README.md and docs/*.md, parsed once and run like a reader would run them.

Conventions the documents follow (docs/README of the convention: docs/architecture.md, "Docs"):

* A fenced ``sh`` block holds commands, one per line (``\\`` continues a line). A trailing comment
  saying ``exit N`` is the command's documented exit code; otherwise it must exit 0.
* A fenced ``output`` block right after an ``sh`` block shows the output of that block's last
  command. ``...`` inside a line matches any text; a line that is only ``...`` matches any lines.
* ``<!-- not-run: reason -->`` on the line before a fence marks an illustrative block that is not
  run (placeholders for the reader's own systems, the set-up commands themselves).
* Shell is labelled ``sh``; synopses and other non-commands are ``text``. ``bash``/``shell``/``console``
  labels, and unlabelled blocks that start with a command, are reported so no example escapes.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\S*)\s*$")
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(.+?)\s*-->\s*$")
EXIT = re.compile(r"\bexit (\d+)\b")
SHELL_LABELS = {"bash", "shell", "console", "zsh"}
COMMAND_START = re.compile(r"^(hrbridge|make|python|\.venv/bin/|curl|export) ")


@dataclass
class Command:
    """One command line of a block, with its documented exit code."""

    text: str
    exit_code: int
    line: int


@dataclass
class Block:
    """One ``sh`` block: where it is, its commands, the output shown after it, why it is not run."""

    doc: str
    line: int
    commands: list[Command]
    output: list[str] | None = None
    not_run: str | None = None
    problems: list[str] = field(default_factory=list)


def documents() -> list[Path]:
    """README.md and every docs/*.md, in a stable order."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of one shell line: ``#`` starts a comment outside quotes, after a blank."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1:].strip()
    return line.rstrip(), ""


def _open_quote(text: str) -> bool:
    """True when ``text`` ends inside a quoted string."""
    try:
        shlex.split(text)
    except ValueError:
        return True
    return False


def commands_of(lines: list[str], first_line: int) -> list[Command]:
    """The commands of an ``sh`` block (continuations joined, comments read for ``exit N``)."""
    found: list[Command] = []
    current, comments, start = "", [], first_line
    for offset, raw in enumerate(lines):
        code, comment = split_comment(raw) if not _open_quote(current) else (raw, "")
        if not current:
            start = first_line + offset
        if comment:
            comments.append(comment)
        if code.endswith("\\"):
            current += code[:-1].strip() + " "
            continue
        current += code.strip()
        if _open_quote(current):  # a quoted value that goes on to the next line (JSON in an export)
            current += "\n"
            continue
        if current.strip():
            codes = [int(m.group(1)) for c in comments for m in [EXIT.search(c)] if m]
            found.append(Command(text=current.strip(), exit_code=codes[-1] if codes else 0, line=start))
        current, comments = "", []
    return found


def parse(path: Path) -> list[Block]:
    """Every ``sh`` block of one document, with its output block and not-run marker."""
    lines = path.read_text(encoding="utf-8").splitlines()
    name = str(path.relative_to(REPO))
    blocks: list[Block] = []
    last_sh: Block | None = None
    index = 0
    while index < len(lines):
        opened = FENCE.match(lines[index])
        if not opened:
            index += 1
            continue
        label = opened.group(1)
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        body = lines[index + 1:end]
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = NOT_RUN.match(before.strip())
        if label == "sh":
            last_sh = Block(doc=name, line=index + 1, commands=commands_of(body, index + 2),
                            not_run=marker.group(1) if marker else None)
            blocks.append(last_sh)
        elif label == "output" and last_sh is not None:
            last_sh.output = body
            last_sh = None
        else:
            last_sh = None
            problem = None
            if label in SHELL_LABELS:
                problem = f"{name}:{index + 1}: label shell examples `sh` (not `{label}`)"
            elif not label and body and COMMAND_START.match(body[0]):
                problem = f"{name}:{index + 1}: an unlabelled block starts with a command: label it `sh` or `text`"
            if problem:
                blocks.append(Block(doc=name, line=index + 1, commands=[], problems=[problem]))
        index = end + 1
    return blocks


def output_matches(expected: list[str], actual: str) -> bool:
    """doctest-like: lines in order, ``...`` within a line matches any text, a ``...`` line any lines."""
    got = [line.rstrip() for line in actual.strip("\n").splitlines()]
    want = [line.rstrip() for line in expected]

    def line_ok(pattern: str, text: str) -> bool:
        regex = ".*".join(re.escape(part) for part in pattern.split("..."))
        return re.fullmatch(regex, text) is not None

    def match(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i].strip() == "...":
            return any(match(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and line_ok(want[i], got[j]) and match(i + 1, j + 1)

    return match(0, 0)
