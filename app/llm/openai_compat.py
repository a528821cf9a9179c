"""Any OpenAI-compatible chat server (llama-server, vLLM, LM Studio, OpenAI), through langchain-openai."""
import os

from app.llm import require


def create(arg: str, timeout: float):
    chat = require("langchain_openai", "langchain-openai")
    model, _, base_url = arg.partition("@")
    llm = chat.ChatOpenAI(
        model=model, base_url=base_url or None, api_key=os.environ.get("OPENAI_API_KEY") or "none",
        timeout=timeout, max_retries=0, temperature=0,
    )
    where = base_url or "https://api.openai.com/v1"
    return llm, where, (f"Is the server running at {where}, does it serve the model '{model}', "
                        "and is OPENAI_API_KEY set if it needs one?")
