"""A conversation saved for later: Markdown to read (answers, citations, quoted sentences) and JSON in the
`ask --json` shape; and its answers as records to keep (in the browser, or on the server) and open again."""
import json
from dataclasses import asdict, fields, replace
from datetime import datetime, timezone

from app.answers import Answer, AnswerSpan, Citation, Passage
from index.chunking import Chunk


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


def to_record(answer: Answer) -> dict:
    """An answer as JSON data that from_record turns back into it; the passages retrieved but not cited are left
    out."""
    return asdict(replace(answer, passages=[]))


def from_record(data: dict) -> Answer:
    """The answer a record holds; a KeyError, TypeError or ValueError when it is not one."""
    def citation(item: dict) -> Citation:
        chunk = _known(Chunk, item["passage"]["chunk"])
        chunk["page_starts"] = tuple(int(offset) for offset in chunk.get("page_starts", ()))
        passage = Passage(Chunk(**chunk), float(item["passage"]["score"]))
        more = tuple((int(start), int(end)) for start, end in item.get("more", ()))
        return Citation(**{**_known(Citation, item), "passage": passage, "more": more})

    answer = _known(Answer, data)
    answer["citations"] = [citation(item) for item in data.get("citations", [])]
    answer["span"] = AnswerSpan(**_known(AnswerSpan, data["span"])) if data.get("span") else None
    answer["passages"] = []
    if not isinstance(answer["question"], str) or not isinstance(answer["text"], str):
        raise TypeError("an answer's question and text are text")
    return Answer(**answer)


def _known(kind, data: dict) -> dict:
    """data's fields that kind has (a record from an earlier or later release may have others)."""
    names = {f.name for f in fields(kind)}
    return {key: value for key, value in data.items() if key in names}
