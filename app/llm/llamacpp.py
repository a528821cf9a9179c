"""A local GGUF model through llama-cpp-python (an optional extra: it compiles llama.cpp on install)."""
from pathlib import Path

from app.errors import UnknownModelError
from app.llm import require

INSTALL = "pip install -r requirements-llamacpp.txt"


def create(path: str, timeout: float):
    require("llama_cpp", f"llama-cpp-python ({INSTALL})")
    community = require("langchain_community.chat_models", f"langchain-community ({INSTALL})")
    if not Path(path).is_file():
        raise UnknownModelError(f"No GGUF file at {path}: give llamacpp: the path of a .gguf model.")
    try:
        llm = community.ChatLlamaCpp(model_path=path, temperature=0, max_tokens=256, n_ctx=4096,
                                     verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise UnknownModelError(f"llama.cpp cannot load {path}: {exc}") from None
    return llm, path, f"Check that {path} is a GGUF model that this llama.cpp version can run."
