"""The HTTP pieces around the Gradio app: the /health route, a clear reply when the queue is full, and optional
endpoint inputs over plain HTTP."""
import json
import re
from urllib.parse import parse_qsl, urlencode

from fastapi.routing import APIRoute
from starlette.middleware import Middleware

from app.collections import Collections
from app.pipeline import Pipeline
from app.ui import openai_api
from app.ui.admission import Admission
from app.ui.keys import REFUSAL, BearerKeys

MCP_PATH = "/gradio_api/mcp"
BUSY = ("The server is busy: its queue of waiting requests is full (--max-queue {waiting}). "
        "Try again in a moment.")


def health_route(pipeline: Pipeline) -> APIRoute:
    """GET /health: what monitoring needs to know the app is up and what it serves."""

    def health() -> dict:
        return pipeline.health()

    return APIRoute("/health", health, methods=["GET"], summary="The index's documents, passages and model")


class BusyMessage:
    """Rewrites Gradio's "Queue is full. Max size is N and size is N." (a 503) into a message that says
    what happened and what to do. Only 503 replies are held back; everything else, streams included,
    passes straight through."""

    def __init__(self, app, max_queue: int):
        self.app, self.max_queue = app, max_queue

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        held: list[dict] = []

        async def reply(message):
            if message["type"] == "http.response.start" and message["status"] == 503:
                held.append(message)
                return
            if not held:
                return await send(message)
            held.append(message)
            if message.get("more_body"):
                return
            start, *parts = held
            body = b"".join(part.get("body", b"") for part in parts)
            if b"Queue is full" in body:
                body = json.dumps({"detail": BUSY.format(waiting=self.max_queue)}).encode()
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                start = {**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, reply)


class OptionalInputs:
    """Lets a plain HTTP call (`POST /gradio_api/call/ask` with `{"data": [question]}`) leave out an endpoint's
    optional last inputs: Gradio's server wants a value for every input, and only its own clients fill in the
    defaults. The missing values are sent as null, which the endpoints read as "not given"."""

    _CALL = re.compile(r"/gradio_api/(?:call|run)/([\w-]+)/?")

    def __init__(self, app, inputs: dict[str, int]):
        self.app, self.inputs = app, inputs

    async def __call__(self, scope, receive, send):
        named = self._CALL.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if not named or scope["method"] != "POST" or named[1] not in self.inputs:
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            payload = json.loads(body)
            data = payload.get("data") if isinstance(payload, dict) else None
            if isinstance(data, list) and len(data) < self.inputs[named[1]]:
                payload["data"] = data + [None] * (self.inputs[named[1]] - len(data))
                body = json.dumps(payload).encode()
        except ValueError:
            pass  # Gradio answers a malformed body itself
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class McpGate:
    """The MCP routes (/gradio_api/mcp…): only the tools named, listed and callable (Gradio's own `?tools=`
    selection, set on every request whatever the client asked), and a bearer token when keys are set."""

    def __init__(self, app, tools: list[str], keys: BearerKeys):
        self.app, self.tools, self.keys = app, tools, keys

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(MCP_PATH):
            return await self.app(scope, receive, send)
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        if not self.keys.allows(headers.get("authorization", "")):
            body = json.dumps({"error": REFUSAL}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
            await send({"type": "http.response.body", "body": body})
            return
        query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode()) if k != "tools"]
        scope = dict(scope, query_string=urlencode([*query, ("tools", ",".join(self.tools))]).encode())
        await self.app(scope, receive, send)


def app_kwargs(collections: Collections, inputs: dict[str, int], keys: BearerKeys, mcp_tools: list[str],
               admission: Admission) -> dict:
    """What Gradio passes to its FastAPI app: the extra routes (/health, the OpenAI-compatible /v1) and the
    middleware. inputs: each named endpoint's number of inputs; keys: the bearer tokens /v1 and MCP take;
    mcp_tools: the endpoints MCP clients see as tools; admission: the bounds of /v1 (and MCP)."""
    return {"routes": [health_route(collections.default), *openai_api.routes(collections, keys, admission)],
            "middleware": [Middleware(BusyMessage, max_queue=collections.default.settings.max_queue),
                           Middleware(OptionalInputs, inputs=inputs),
                           Middleware(McpGate, tools=list(mcp_tools), keys=keys)]}
