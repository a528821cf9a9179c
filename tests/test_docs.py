"""The README and docs/: every code block is either checked by a named test or marked as an illustration, every
relative link leads somewhere, and the outputs they show are what the commands print. Fast: no model is loaded."""
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- (?:illustration|checked by (tests/\w+\.py)::(\w+)) -->$")
FENCE = re.compile(r"^\s*```")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def blocks(page) -> list[tuple[str, str, str]]:
    """Each fenced code block of a page: (the line above it, its info string, its text)."""
    lines, found, start = page.read_text(encoding="utf-8").splitlines(), [], None
    for number, line in enumerate(lines):
        if not FENCE.match(line):
            continue
        if start is None:
            start = number
        else:
            above = lines[start - 1] if start else ""
            found.append((above, lines[start].strip()[3:], "\n".join(lines[start + 1:number])))
            start = None
    assert start is None, f"{page.name}: a code block is never closed"
    return found


def without_code_blocks(page) -> str:
    return re.sub(r"^\s*```.*?^\s*```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)


def prose(page) -> str:
    """The page without its code blocks and inline code, where link syntax is only shown."""
    return re.sub(r"`[^`\n]*`", "", without_code_blocks(page))


def anchors(page) -> set[str]:
    """The headings' anchors, as GitHub makes them."""
    headings = re.findall(r"^#{1,6} (.+)$", without_code_blocks(page), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def marked(page, test_name: str) -> list[str]:
    """The code blocks of a page marked as checked by this file's test_name."""
    return [text for above, _, text in blocks(page) if above == f"<!-- checked by tests/test_docs.py::{test_name} -->"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_code_block_is_checked_by_a_named_test_or_marked_as_an_illustration(page):
    for above, _, text in blocks(page):
        match = MARKER.match(above)
        assert match, f"{page.name}: no <!-- illustration --> or <!-- checked by … --> above:\n{text[:200]}"
        if match.group(1):
            test_file = ROOT / match.group(1)
            assert test_file.is_file(), f"{page.name}: {match.group(1)} does not exist"
            source = test_file.read_text(encoding="utf-8")
            defined = re.search(rf"^(async )?def {match.group(2)}\(", source, re.MULTILINE)
            assert defined, f"{page.name}: {match.group(1)} has no test {match.group(2)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    for target in LINK.findall(prose(page)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target} leads nowhere"
        if anchor:
            assert anchor in anchors(linked), f"{page.name}: {linked.name} has no heading #{anchor}"


def test_the_readme_is_a_front_door_that_links_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 220
    table = [line for line in readme.splitlines() if line.startswith("| [")]
    linked = {target for line in table for target in LINK.findall(line)}
    assert linked == {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")}
    assert "python -m pytest" in readme  # the test command .ci/run runs


def run_app(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=60)


def test_help_lists_the_subcommands_the_cli_page_documents():
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^## `(\w+)`$", page, re.MULTILINE))
    done = run_app("--help")
    assert done.returncode == 0, done.stderr
    listed = set(re.search(r"\{([\w,]+)\}", done.stdout).group(1).split(","))
    assert documented == listed


def test_the_xquad_command_prints_what_the_docs_show(tmp_path):
    [shown] = marked(ROOT / "docs" / "evaluation.md", "test_the_xquad_command_prints_what_the_docs_show")
    command, *output = shown.splitlines()
    args = command.removeprefix("$ python -m app ").split()
    shown_out = args[args.index("--out") + 1]
    args[args.index("--out") + 1] = str(tmp_path / "xq")
    done = run_app(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [line.replace(shown_out, str(tmp_path / "xq")) for line in output]


def test_the_question_file_example_loads(tmp_path):
    from app.evaluation import load_questions

    [example] = marked(ROOT / "docs" / "evaluation.md", "test_the_question_file_example_loads")
    path = tmp_path / "questions.yaml"
    path.write_text(example, encoding="utf-8")
    first, second = load_questions(path)
    assert (first.id, first.lang, first.article, first.passage_contains) == (
        "joined-2004", "en", "nato", ("Letonia, Lituania",))
    assert first.answer_contains == (("Letonia", "Latvia"), ("Estonia",)) and not first.abstain
    assert second.abstain


def test_the_question_sets_hold_as_many_questions_as_the_docs_say():
    from app.evaluation import load_questions

    page = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    seed = load_questions(ROOT / "eval" / "seed_questions.yaml")
    assert f"holds {len(seed)} questions on the seed article" in page
    assert f"{sum(q.abstain for q in seed)} it does not answer" in page
    documents = load_questions(ROOT / "eval" / "documents_questions.yaml")
    answerable = sum(not q.abstain for q in documents)
    assert f"holds {len(documents)} questions ({answerable} answerable;" in page
