"""Local stand-ins for LLM servers, which cannot run here: they speak OpenAI's chat completions
(with and without streaming) and Ollama's /api/chat on 127.0.0.1, and answer from the prompt's
passages by a fixed rule, so the app's real HTTP clients, streaming and error paths are exercised.
"""
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PASSAGE = re.compile(r'\[(\d+)\] [^\n]*\n"""\n(.*?)\n"""', re.S)


def reply_for(prompt: str, behaviour: str) -> str:
    """The answer a well-behaved model would give: the passage holding the question's year, cited."""
    if prompt.startswith("Rewrite the last question"):
        previous = re.findall(r"User: (.*)", prompt)[-1]
        year = re.search(r"Last question: .*?(\d{4})", prompt)
        return re.sub(r"\d{4}", year.group(1), previous) if year else previous
    question = prompt.rsplit("Question:", 1)[-1]
    years = re.findall(r"\d{4}", question)
    passages = PASSAGE.findall(prompt)
    hit = next(((n, text) for n, text in passages if years and years[0] in text), None)
    if hit is None:
        return "The documents do not contain the answer to this question."
    n, text = hit
    sentence = next(s for s in re.split(r"(?<=\.) ", text) if years[0] in s)
    marker = {"bad-citation": f" [{n}] [9]", "no-citation": ""}.get(behaviour, f" [{n}]")
    return sentence.rstrip(".") + marker + "."


class LoopbackServer:
    """An HTTP server on 127.0.0.1 for a stand-in: each POST's JSON body is recorded, then handed to handle()."""

    def __init__(self):
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, **body})
                server.handle(self, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def handle(self, http, body: dict) -> None:
        raise NotImplementedError

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def send(http, status: int, text: str):
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(text.encode())))
        http.end_headers()
        http.wfile.write(text.encode())


class FakeLLMServer(LoopbackServer):
    """behaviour: answer, bad-citation, no-citation, slow, hang, error, unknown-model, malformed."""

    def __init__(self, behaviour: str = "answer"):
        self.behaviour = behaviour
        self.disconnected = threading.Event()  # a streaming client went away mid-answer
        self.release = threading.Event()  # ends a hanging reply at shutdown
        super().__init__()

    def close(self):
        self.release.set()
        super().close()

    def handle(self, http, body):
        ollama = http.path == "/api/chat"
        if self.behaviour == "hang":
            self.release.wait(120)
            return
        if self.behaviour in ("error", "unknown-model"):
            status, message = (500, "internal error: out of memory") if self.behaviour == "error" else \
                (404, f"model '{body['model']}' not found, try pulling it first")
            payload = {"error": message} if ollama else {"error": {"message": message, "type": "error"}}
            return self.send(http, status, json.dumps(payload))
        if self.behaviour == "malformed":
            return self.send(http, 200, "<html>this is not JSON</html>")
        text = reply_for(body["messages"][-1]["content"], self.behaviour)
        if self.behaviour == "slow":
            text = " ".join(["word"] * 200)
        words = re.findall(r"\S+\s*", text)
        if not body.get("stream", ollama):
            message = {"role": "assistant", "content": text}
            payload = {"model": body["model"], "created_at": "2026-01-01T00:00:00Z", "message": message,
                       "done": True, "done_reason": "stop"} if ollama else {
                "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
            return self.send(http, 200, json.dumps(payload))
        http.send_response(200)
        http.send_header("Content-Type", "application/x-ndjson" if ollama else "text/event-stream")
        http.end_headers()
        try:
            for word in words:
                if self.behaviour == "slow":
                    time.sleep(0.25)
                http.wfile.write(self.chunk(ollama, body["model"], word, False).encode())
                http.wfile.flush()
            http.wfile.write(self.chunk(ollama, body["model"], "", True).encode())
            http.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.disconnected.set()

    @staticmethod
    def chunk(ollama: bool, model: str, text: str, done: bool) -> str:
        if ollama:
            return json.dumps({"model": model, "created_at": "2026-01-01T00:00:00Z",
                               "message": {"role": "assistant", "content": text}, "done": done,
                               **({"done_reason": "stop"} if done else {})}) + "\n"
        if done:
            return "data: [DONE]\n\n"
        return "data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                                      "choices": [{"index": 0, "delta": {"content": text},
                                                   "finish_reason": None}]}) + "\n\n"
