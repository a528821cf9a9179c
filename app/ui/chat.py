"""The chat: answers with their [n] markers and the cited passages beneath, quote highlighted (a click on
either opens the source panel). Questions can be limited to chosen documents, and the conversation saved as
Markdown or JSON."""
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import quote, urlsplit

import gradio as gr

from app import conversation
from app.answers import Answer, AnswerSpan, Citation
from app.errors import AppError
from app.llm import ANSWERER_FORMS
from app.collections import Collections
from app.pipeline import Pipeline
from app.ui.served_files import ServedFiles

CSS = """
.citation { margin-top: .6em; font-size: .92em; }
.citation .where { color: var(--body-text-color-subdued); }
.citation blockquote { margin: .2em 0 0 0; }
.confidence { color: var(--body-text-color-subdued); font-size: .85em; }
.citation mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.citation mark b { text-decoration: underline; }
#chat .cite, #chat .citation { cursor: pointer; }
#chat a.cite { text-decoration: none; font-weight: 600; }
"""

_MARKER = re.compile(r"&#91;(\d+)&#93;")  # an [n] marker once as_text has escaped it


# The chat renders Markdown, then HTML: text from documents, questions and LLMs has both kinds of markup
# turned into character references, so `[x](javascript:…)` or `![x](http://…)` shows as written and
# nothing in it becomes a link, an image or a request.
_AS_TEXT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'[]()!*_`~#|\\$"})


def as_text(text: str) -> str:
    """text to show as written inside the chat's Markdown and HTML."""
    return text.translate(_AS_TEXT)


def _marked(text: str, start: int, end: int, span: tuple[int, int] | None) -> str:
    """text[start:end] highlighted, with the exact answer inside it in bold."""
    if span is None or not (start <= span[0] and span[1] <= end):
        return "<mark>" + as_text(text[start:end]) + "</mark>"
    return ("<mark>" + as_text(text[start:span[0]]) + "<b>" + as_text(text[span[0]:span[1]]) + "</b>"
            + as_text(text[span[1]:end]) + "</mark>")


def cited_class(turn: int, n: int) -> str:
    """The class that names citation n of answer turn: the chat keeps classes (not data- attributes), and a
    click on it opens that source."""
    return f"cited-{turn}-{n}"


def render_citation(citation: Citation, span: AnswerSpan | None = None, turn: int = 0) -> str:
    chunk, text = citation.passage.chunk, citation.passage.chunk.text
    inside = (span.start, span.end) if span and span.n == citation.n else None
    passage, shown = "", 0
    for start, end in citation.spans:
        passage += as_text(text[shown:start]) + _marked(text, start, end, inside)
        shown = end
    passage += as_text(text[shown:])
    return (f'<div class="citation {cited_class(turn, citation.n)}" title="Open the source">'
            f'<b>[{citation.n}]</b> <b>{as_text(chunk.source)}</b>{_address_link(citation.url)} '
            f'<span class="where">· passage {chunk.number + 1}, {citation.where} · '
            f'score {citation.passage.score:.3f}</span><blockquote>{passage}</blockquote></div>')


def _address_link(url: str | None) -> str:
    """A link to the address a cited page was fetched from, which opens in a new tab."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return ""
    href = html.escape(quote(url, safe=":/?&=#%+,;@~.-"), quote=True)
    return (f' <a class="page-link" href="{href}" target="_blank" rel="noopener noreferrer nofollow" '
            f'title="{href}">↗ {as_text(urlsplit(url).hostname or "")}</a>')


def render_answer(answer: Answer, turn: int = 0) -> str:
    """The chat message: the answer (as text, its exact answer in bold, its [n] markers opening their source),
    then each cited passage with its quote highlighted. turn numbers the answer in its conversation."""
    at = answer.text.find(answer.bold.text) if answer.bold else -1
    if at < 0:
        shown = as_text(answer.text)
    else:
        end = at + len(answer.bold.text)
        shown = (as_text(answer.text[:at]) + "<b>" + as_text(answer.text[at:end]) + "</b>"
                 + as_text(answer.text[end:]))
    cited = {c.n for c in answer.citations}
    parts = [_MARKER.sub(lambda m: f'<a class="cite {cited_class(turn, int(m[1]))}" title="Open the source">'
                                   f'&#91;{m[1]}&#93;</a>' if int(m[1]) in cited else m[0], shown)]
    if answer.confidence is not None and not answer.abstained:
        parts[0] += f' <span class="confidence">· confidence {answer.confidence:.0%}</span>'
    if answer.note:
        parts.append(f"<i>{as_text(answer.note)}</i>")
    parts += [render_citation(c, answer.bold, turn) for c in answer.citations]
    return "\n\n".join(parts)


def scope_text(pipeline: Pipeline, chosen: list[str] | None) -> str:
    """The line under the question box that says what a question searches."""
    total = len(pipeline.documents())
    if not chosen:
        return f"Searching all {total} document(s)."
    return f"Searching {len(chosen)} of {total} document(s): {as_text(', '.join(chosen))}."


def searched_line(collections: Collections, chosen: list[str] | None, name: str | None):
    """scope_text for the collection of that name; left as it is where that collection was deleted meanwhile (the
    page that deleted it shows the default's)."""
    try:
        return scope_text(collections.get(name), chosen)
    except AppError:
        return gr.skip()


@dataclass
class ChatParts:
    """What the other panels use of the chat: the documents selector and the line that says what is searched
    (which the documents panel keeps up to date), the conversation (its answers, whose citations the source panel
    opens), the events that answer, and `shown`, which gives the chat's parts for a list of answers."""

    scope: gr.Dropdown
    searched: gr.Markdown
    answers: gr.State
    conversation: list  # the chat, turns, answers and the two export buttons, in the order `shown` gives them
    answered: list  # the events that answer a question
    cleared: object  # the chat's clear event
    shown: Callable[[list[Answer]], tuple]


def build(collections: Collections, collection: gr.Dropdown) -> ChatParts:
    """The chat, its question box with the documents selector, Stop, export and the answerer settings; questions go
    to the collection chosen in `collection`."""
    pipeline = collections.default
    exports = ServedFiles("ask-the-documents-exports-")

    def respond(message: str, history: list[dict], turns: list, answerer: str, scope: list[str] | None,
                answers: list[Answer], name: str | None):
        history = [*history, {"role": "user", "content": as_text(message or "")},
                   {"role": "assistant", "content": "…"}]
        unchanged = gr.update(), gr.update()  # the export buttons, until the answer is complete
        yield "", history, turns, answers, *unchanged
        try:
            for item in collections.get(name).stream(message, turns, answerer, scope):
                if isinstance(item, str):
                    history[-1] = {"role": "assistant", "content": as_text(item)}
                    yield "", history, turns, answers, *unchanged
                else:
                    item = replace(item, collection=name or None)
                    history[-1] = {"role": "assistant", "content": render_answer(item, len(answers))}
                    turns = [*turns, (item.question, item.text)]
                    answers = [*answers, item]
        except AppError as exc:
            history[-1] = {"role": "assistant", "content": f"⚠️ {as_text(str(exc))}"}
        yield "", history, turns, answers, *exported(answers)

    def exported(answers: list[Answer]):
        """The export buttons, holding the conversation so far."""
        if not answers:
            return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
        folder = exports.folder()
        markdown, data = folder / "conversation.md", folder / "conversation.json"
        markdown.write_text(conversation.to_markdown(answers), encoding="utf-8")
        data.write_text(conversation.to_json(answers), encoding="utf-8")
        return gr.update(value=str(markdown), interactive=True), gr.update(value=str(data), interactive=True)

    def choose(answerer: str) -> str:
        try:
            pipeline.answerer_for(answerer)
        except AppError as exc:
            return f"⚠️ {as_text(str(exc))}"
        return f"Answering with **{as_text(answerer.strip() or pipeline.settings.answerer)}**."

    chat = gr.Chatbot(label="Answers with their sources", height=520, elem_id="chat", feedback_options=None)
    turns, answers = gr.State([]), gr.State([])
    with gr.Row():
        box = gr.Textbox(placeholder="Ask a question about the documents, in English or Romanian…",
                         show_label=False, scale=8, elem_id="question", autofocus=True)
        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask", min_width=70)
        stop = gr.Button("Stop", scale=1, elem_id="stop", min_width=70)
    with gr.Row(equal_height=True):
        names = [record.source for record in pipeline.documents()]
        scope = gr.Dropdown(choices=names, value=[], multiselect=True, label="Documents", scale=3,
                            elem_id="scope", info="Search only these documents (all when none is chosen)")
        searched = gr.Markdown(scope_text(pipeline, []), elem_id="scope-status")
    with gr.Row():
        export_md = gr.DownloadButton("Save chat as Markdown", interactive=False, size="sm", elem_id="export-md")
        export_json = gr.DownloadButton("Save chat as JSON", interactive=False, size="sm", elem_id="export-json")
    with gr.Accordion("Answerer settings", open=False, elem_id="settings"):
        answerer = gr.Textbox(value=pipeline.settings.answerer, label="Answerer", elem_id="answerer",
                              info=f"{ANSWERER_FORMS}; press Enter to apply")
        chosen = gr.Markdown(elem_id="answerer-status")

    answerer.submit(choose, answerer, chosen, api_visibility="private")
    scope.change(lambda chosen_names, name: searched_line(collections, chosen_names, name), [scope, collection],
                 searched, api_visibility="private")
    outputs = [box, chat, turns, answers, export_md, export_json]
    events = [trigger(respond, [box, chat, turns, answerer, scope, answers, collection], outputs,
                      api_visibility="private")
              for trigger in (box.submit, send.click)]
    stop.click(None, cancels=events, api_visibility="private")
    cleared = chat.clear(lambda: ([], [], *exported([])), None, [turns, answers, export_md, export_json],
                         api_visibility="private")

    def shown(answered: list[Answer]) -> tuple:
        history = []
        for turn, answer in enumerate(answered):
            history += [{"role": "user", "content": as_text(answer.question)},
                        {"role": "assistant", "content": render_answer(answer, turn)}]
        return history, [(a.question, a.text) for a in answered], answered, *exported(answered)

    return ChatParts(scope, searched, answers, [chat, turns, answers, export_md, export_json], events, cleared, shown)
