"""A local Hugging Face transformers causal LM, through langchain-huggingface; its chat template if any."""
import os
from pathlib import Path

from app.errors import UnknownModelError
from app.llm import require

MAX_NEW_TOKENS = 256


def create(path: str, timeout: float):
    pipelines = require("langchain_huggingface", "langchain-huggingface")
    transformers = require("transformers", "transformers")
    if not Path(path).is_dir():
        raise UnknownModelError(f"No model folder at {path}: give hf: the path of a local transformers "
                                "model (config.json, weights and tokenizer).")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        model = transformers.AutoModelForCausalLM.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise UnknownModelError(f"Cannot load the transformers model at {path}: {exc}") from None
    # max_time stops generation itself, which streaming runs in a thread of its own: the answerer
    # gives up on the reply at the same moment, and the thread ends instead of generating on.
    generate = transformers.pipeline(
        "text-generation", model=model, tokenizer=tokenizer, max_new_tokens=MAX_NEW_TOKENS,
        max_time=timeout, do_sample=False, return_full_text=False,
    )
    llm = pipelines.HuggingFacePipeline(pipeline=generate, model_id=path)
    if tokenizer.chat_template:
        llm = pipelines.ChatHuggingFace(llm=llm, tokenizer=tokenizer, model_id=path)
    return llm, path, f"Check that {path} holds a causal language model that transformers can load."
