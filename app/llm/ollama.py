"""Ollama's chat API at OLLAMA_HOST (default http://127.0.0.1:11434), through langchain-ollama."""
import os

from app.llm import require


def create(model: str, timeout: float):
    chat = require("langchain_ollama", "langchain-ollama")
    host = os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"
    if "://" not in host:
        host = f"http://{host}"
    llm = chat.ChatOllama(model=model, base_url=host, temperature=0, client_kwargs={"timeout": timeout})
    return llm, host, f"Is Ollama running there (`ollama serve`), and is the model pulled (`ollama pull {model}`)?"
