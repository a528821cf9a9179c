"""An OpenAI-compatible chat endpoint on the app's server: `GET /v1/models` and `POST /v1/chat/completions`
(streaming or not), so that Open WebUI, LibreChat or any OpenAI client can use the documents as a "model".

The last user message is the question; earlier user and assistant turns are the conversation, read for
follow-ups as the chat does. The reply's content is the answer with its [n] markers and a Sources list; the
structured citations ride along in an extra "citations" field (and the whole answer in "answer").
"""
import json
import time
import uuid
from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from app import answerers
from app.answers import Answer
from app.collections import Collections
from app.errors import AppError
from app.pipeline import Pipeline
from app.ui.admission import RETRY_AFTER_S, Admission, Busy, Ticket
from app.ui.keys import REFUSAL, BearerKeys

OWNER = "ask-the-documents"


def content(answer: Answer) -> str:
    """The answer as a chat message: its text with [n] markers, then the sources it cites."""
    lines = [answer.text]
    if answer.note:
        lines += ["", f"_{answer.note}_"]
    if answer.citations:
        lines += ["", "Sources:"]
        lines += [f"[{c.n}] {c.passage.chunk.source}, {c.where}: \"{' '.join(c.quote.split())}\""
                  for c in answer.citations]
    return "\n".join(lines)


def _error(status: int, message: str, kind: str, code: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status,
                        headers=headers)


def _turns(messages: list) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last user message) and the earlier (question, answer) turns."""
    def text(message: dict) -> str:
        body = message.get("content")
        if isinstance(body, list):  # content parts: keep the text ones
            body = " ".join(part.get("text", "") for part in body if isinstance(part, dict))
        return body if isinstance(body, str) else ""

    said = [(m.get("role"), text(m)) for m in messages if isinstance(m, dict)]
    users = [i for i, (role, _) in enumerate(said) if role == "user"]
    if not users:
        raise AppError("messages holds no user message: send the question as {\"role\": \"user\", \"content\": …}.")
    history, question = [], None
    for role, body in said[:users[-1]]:
        if role == "user":
            question = body
        elif role == "assistant" and question is not None:
            history.append((question, body.split("\n\nSources:")[0]))
            question = None
    return said[users[-1]][1], history


def routes(collections: Collections, keys: BearerKeys, admission: Admission) -> list[APIRoute]:
    """GET /v1/models and POST /v1/chat/completions; a completion past admission's bounds gets a 503 with
    Retry-After. A model is an answerer, and `answerer@collection` asks that collection."""
    pipeline = collections.default
    def refuse(request: Request) -> JSONResponse | None:
        if keys.allows(request.headers.get("authorization", "")):
            return None
        return _error(401, REFUSAL, "invalid_request_error", "invalid_api_key")

    def model_ids() -> list[str]:
        served = list(dict.fromkeys([pipeline.settings.answerer, answerers.DEFAULT]))
        return served + [f"{model}@{name}" for name in collections.names()[1:] for model in served]

    def models(request: Request):
        if refused := refuse(request):
            return refused
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": OWNER}
                                           for name in model_ids()]}

    async def chat_completions(request: Request):
        if refused := refuse(request):
            return refused
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "The body is not JSON: send {\"model\": …, \"messages\": […]}.", "invalid_request_error")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "messages is missing: send {\"model\": …, \"messages\": [{\"role\": \"user\", "
                               "\"content\": …}]}.", "invalid_request_error")
        model = str(body.get("model") or pipeline.settings.answerer)
        if model not in model_ids():  # only the configured answerers: a client cannot point the app at other LLMs
            return _error(404, f"The model '{model}' is not served here; choose one of {', '.join(model_ids())} "
                               "(GET /v1/models lists them).", "invalid_request_error", "model_not_found")
        try:
            question, history = _turns(body["messages"])
            answerer, _, name = model.partition("@")
            asked = collections.get(name)
        except AppError as exc:
            return _error(400, str(exc), "invalid_request_error")
        sources = body.get("sources") if isinstance(body.get("sources"), list) else None
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        try:
            ticket = admission.admit()
        except Busy as exc:
            return _error(503, str(exc), "server_error", "server_busy", {"Retry-After": str(RETRY_AFTER_S)})
        if body.get("stream"):
            await ticket.start()  # its turn comes before the first byte is sent
            return StreamingResponse(_stream(asked, question, history, answerer, model, sources, reply_id, created,
                                             ticket),
                                     media_type="text/event-stream", background=BackgroundTask(ticket.close))
        try:  # in a worker thread: an answer takes a while, and the server's other requests go on meanwhile
            async with ticket:
                answer = await run_in_threadpool(asked.ask, question, history, answerer, sources)
        except AppError as exc:
            return _error(400, str(exc), "invalid_request_error")
        text = content(answer)
        return {"id": reply_id, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "citations": [c.to_dict() for c in answer.citations], "answer": answer.to_dict()}

    return [APIRoute("/v1/models", models, methods=["GET"], summary="The answerers, as OpenAI models"),
            APIRoute("/v1/chat/completions", chat_completions, methods=["POST"],
                     summary="An answer with citations, as an OpenAI chat completion")]


def _stream(pipeline: Pipeline, question: str, history: list, answerer: str, model: str, sources: list | None,
            reply_id: str, created: int, ticket: Ticket) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk shape: the answer's text as it grows, then the sources and the
    citations, then [DONE]. An error after the stream has started is sent as an error event. ticket, whose turn
    has come, is given back at the end."""
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        data = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    sent = ""
    try:
        for item in pipeline.stream(question, history, answerer, sources):
            if isinstance(item, Answer):
                text = content(item)
                rest = text[len(sent):] if text.startswith(sent) else "\n\n" + text
                yield chunk({"content": rest})
                yield chunk({}, "stop", citations=[c.to_dict() for c in item.citations], answer=item.to_dict())
            else:
                grown = item[len(sent):] if item.startswith(sent) else item
                sent = item if item.startswith(sent) else sent + item
                if grown:
                    yield chunk({"content": grown})
    except AppError as exc:
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'invalid_request_error'}})}\n\n"
    finally:
        ticket.close()
    yield "data: [DONE]\n\n"
