"""A conversation saved for later: Markdown to read (answers, citations, quoted sentences) and JSON in the
`ask --json` shape."""
import json
from datetime import datetime, timezone

from app.answers import Answer


def to_markdown(answers: list[Answer], title: str = "Ask the documents") -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# {title}: conversation", "", f"Exported {when}, {len(answers)} question(s).", ""]
    for number, answer in enumerate(answers, 1):
        lines += [f"## {number}. {answer.question}", "", answer.text, ""]
        facts = []
        if answer.bold:
            facts.append(f"Exact answer: **{answer.bold.text}** [{answer.bold.n}]")
        if answer.confidence is not None and not answer.abstained:
            facts.append(f"Confidence: {answer.confidence:.0%}")
        if answer.searched:
            facts.append("Searched only: " + ", ".join(answer.searched))
        if answer.note:
            facts.append(f"Note: {answer.note}")
        lines += [f"- {fact}" for fact in facts] + ([""] if facts else [])
        if answer.citations:
            lines += ["Sources:", ""]
            for citation in answer.citations:
                quotes = " … ".join(" ".join(q.split()) for q in citation.quotes)
                source = citation.passage.chunk.source
                named = f"[{source}](<{citation.url}>)" if citation.url else source
                lines += [f"[{citation.n}] {named}, {citation.where}", "",
                          f"> {quotes}", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_json(answers: list[Answer]) -> str:
    exported = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return json.dumps({"exported_at": exported, "answers": [a.to_dict() for a in answers]},
                      ensure_ascii=False, indent=1)
