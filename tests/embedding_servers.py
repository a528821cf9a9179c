"""A local stand-in for an embedding server (vLLM, TEI, LM Studio, Ollama), which cannot run here: it speaks
OpenAI's POST /v1/embeddings (float and base64 replies) and Ollama's POST /api/embed on 127.0.0.1, and computes
real vectors with the bundled multilingual-e5-small (onnxruntime), as such a server serving e5 would: the
"query: " or "passage: " prefix is part of the text it is sent."""
import base64
import json

import numpy as np

from index import e5_convert, e5_onnx
from tests.llm_servers import LoopbackServer

MODEL = "multilingual-e5-small"


class E5EmbeddingServer(LoopbackServer):
    def __init__(self):
        self._e5 = e5_onnx.OnnxE5(e5_convert.prepared("q4"), "q4")
        super().__init__()

    def handle(self, http, body: dict) -> None:
        status, reply = self.reply(http.path, body)
        self.send(http, status, json.dumps(reply))

    def vectors(self, texts: list[str]) -> np.ndarray:
        """e5's vectors of the texts as sent, prefix included (OnnxE5 adds the prefix of the kind it is told)."""
        found = []
        for text in texts:
            kind = "query" if text.startswith("query: ") else "passage"
            found.append(self._e5.embed([text.removeprefix(e5_onnx.PREFIXES[kind])], kind)[0])
        return np.asarray(found, dtype=np.float32)

    def reply(self, path: str, body: dict) -> tuple[int, dict]:
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        if path == "/v1/embeddings":
            if body.get("model") != MODEL:
                return 404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                       "type": "invalid_request_error", "code": "model_not_found"}}
            vectors = self.vectors(texts)
            encode = body.get("encoding_format") == "base64"
            data = [{"object": "embedding", "index": i,
                     "embedding": base64.b64encode(v.tobytes()).decode() if encode else v.tolist()}
                    for i, v in enumerate(vectors)]
            return 200, {"object": "list", "data": data, "model": MODEL,
                         "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        if path == "/api/embed":
            if body.get("model") != MODEL:
                return 404, {"error": f"model \"{body.get('model')}\" not found, try pulling it first"}
            return 200, {"model": MODEL, "embeddings": self.vectors(texts).tolist()}
        return 404, {"error": f"no route {path}"}
