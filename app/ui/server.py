"""The HTTP pieces around the Gradio app: the /health route, and a clear reply when the queue is full."""
import json

from fastapi.routing import APIRoute
from starlette.middleware import Middleware

from app.pipeline import Pipeline

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


def app_kwargs(pipeline: Pipeline) -> dict:
    """What Gradio passes to its FastAPI app: the extra route and the middleware."""
    return {"routes": [health_route(pipeline)],
            "middleware": [Middleware(BusyMessage, max_queue=pipeline.settings.max_queue)]}
