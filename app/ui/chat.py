"""The chat: answers with their [n] markers, and the cited passages beneath with the quote highlighted."""

import gradio as gr

from app.answers import Answer, AnswerSpan, Citation
from app.errors import AppError
from app.llm import ANSWERER_FORMS
from app.pipeline import Pipeline

CSS = """
.citation { margin-top: .6em; font-size: .92em; }
.citation .where { color: var(--body-text-color-subdued); }
.citation blockquote { margin: .2em 0 0 0; }
.confidence { color: var(--body-text-color-subdued); font-size: .85em; }
.citation mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.citation mark b { text-decoration: underline; }
"""


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


def render_citation(citation: Citation, span: AnswerSpan | None = None) -> str:
    chunk, text = citation.passage.chunk, citation.passage.chunk.text
    inside = (span.start, span.end) if span and span.n == citation.n else None
    passage, shown = "", 0
    for start, end in citation.spans:
        passage += as_text(text[shown:start]) + _marked(text, start, end, inside)
        shown = end
    passage += as_text(text[shown:])
    return (f'<div class="citation"><b>[{citation.n}]</b> <b>{as_text(chunk.source)}</b> '
            f'<span class="where">· passage {chunk.number + 1}, {citation.where} · '
            f'score {citation.passage.score:.3f}</span><blockquote>{passage}</blockquote></div>')


def render_answer(answer: Answer) -> str:
    """The chat message: the answer (as text, its exact answer in bold), then each cited passage with its quote
    highlighted."""
    at = answer.text.find(answer.span.text) if answer.span else -1
    if at < 0:
        parts = [as_text(answer.text)]
    else:
        end = at + len(answer.span.text)
        parts = [as_text(answer.text[:at]) + "<b>" + as_text(answer.text[at:end]) + "</b>"
                 + as_text(answer.text[end:])]
    if answer.confidence is not None and not answer.abstained:
        parts[0] += f' <span class="confidence">· confidence {answer.confidence:.0%}</span>'
    if answer.note:
        parts.append(f"<i>{as_text(answer.note)}</i>")
    parts += [render_citation(c, answer.span) for c in answer.citations]
    return "\n\n".join(parts)


def build(pipeline: Pipeline) -> None:
    """The chat, its question box, Stop, and the answerer settings."""

    def respond(message: str, history: list[dict], turns: list, answerer: str):
        history = [*history, {"role": "user", "content": as_text(message or "")},
                   {"role": "assistant", "content": "…"}]
        yield "", history, turns
        try:
            for item in pipeline.stream(message, turns, answerer):
                if isinstance(item, str):
                    history[-1] = {"role": "assistant", "content": as_text(item)}
                    yield "", history, turns
                else:
                    history[-1] = {"role": "assistant", "content": render_answer(item)}
                    turns = [*turns, (item.question, item.text)]
        except AppError as exc:
            history[-1] = {"role": "assistant", "content": f"⚠️ {as_text(str(exc))}"}
        yield "", history, turns

    def choose(answerer: str) -> str:
        try:
            pipeline.answerer_for(answerer)
        except AppError as exc:
            return f"⚠️ {as_text(str(exc))}"
        return f"Answering with **{as_text(answerer.strip() or pipeline.settings.answerer)}**."

    chat = gr.Chatbot(label="Answers with their sources", height=520, elem_id="chat", feedback_options=None)
    turns = gr.State([])
    with gr.Row():
        box = gr.Textbox(placeholder="Ask a question about the documents, in English or Romanian…",
                         show_label=False, scale=8, elem_id="question", autofocus=True)
        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
        stop = gr.Button("Stop", scale=1, elem_id="stop")
    with gr.Accordion("Answerer settings", open=False, elem_id="settings"):
        answerer = gr.Textbox(value=pipeline.settings.answerer, label="Answerer", elem_id="answerer",
                              info=f"{ANSWERER_FORMS}; press Enter to apply")
        chosen = gr.Markdown(elem_id="answerer-status")
    answerer.submit(choose, answerer, chosen, api_visibility="private")
    events = [trigger(respond, [box, chat, turns, answerer], [box, chat, turns], api_visibility="private")
              for trigger in (box.submit, send.click)]
    stop.click(None, cancels=events, api_visibility="private")
    chat.clear(lambda: [], None, turns, api_visibility="private")
