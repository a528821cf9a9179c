"""Chat models by name: `ollama:MODEL`, `openai:MODEL@BASE_URL`, `hf:PATH`, `llamacpp:PATH.gguf`."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.errors import MissingDependencyError, UnknownModelError

FORMS = ("ollama:MODEL", "openai:MODEL@BASE_URL", "hf:PATH", "llamacpp:PATH.gguf")
ANSWERER_FORMS = f"extractive (default, no LLM), {', '.join(FORMS)}"
DEFAULT_TIMEOUT = 60.0

if TYPE_CHECKING:  # LangChain's language-model modules take a second to import; only LLM answerers need them
    from langchain_core.language_models import BaseLanguageModel


@dataclass(frozen=True)
class ChatBackend:
    """A LangChain chat model (or LLM) with what a user needs to know when it fails."""

    name: str  # the spec it was made from, e.g. "ollama:llama3.2"
    model: BaseLanguageModel
    where: str  # the server URL or model path
    hint: str  # what to check when it fails
    timeout: float = DEFAULT_TIMEOUT  # seconds one call may take, from the request to the reply's end


# backend name → module in this package whose create(arg, timeout) builds it
_BACKENDS = {"ollama": "ollama", "openai": "openai_compat", "hf": "hf", "llamacpp": "llamacpp"}


def get(spec: str, timeout: float = DEFAULT_TIMEOUT) -> ChatBackend:
    kind, _, arg = spec.partition(":")
    if kind not in _BACKENDS or not arg:
        raise UnknownModelError(f"Unknown answerer '{spec}'; choose one of: extractive, {', '.join(FORMS)}")
    module = importlib.import_module(f"app.llm.{_BACKENDS[kind]}")
    return ChatBackend(spec, *module.create(arg, timeout), timeout=timeout)


def require(module: str, package: str):
    """Imports an optional backend's module, or says which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(f"This backend needs the package {package}: pip install {package}") \
            from None
