"""Prompt templates, read from files in prompts/ and checked against the variables they must use."""
import string
from dataclasses import dataclass
from pathlib import Path

from app.errors import AppError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class PromptError(AppError):
    """A prompt file is missing, or uses variables it should not, or misses one it needs."""


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str

    def format(self, **values: str) -> str:
        return self.text.format(**values)


def load(name: str, variables: set[str], folder: Path = PROMPTS_DIR) -> Prompt:
    """Reads prompts/NAME.txt; every variable in `variables` must appear in it, and no other."""
    path = folder / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
        used = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except OSError as exc:
        raise PromptError(f"Cannot read the prompt file {path}: {exc.strerror}.") from None
    except ValueError as exc:
        raise PromptError(f"Prompt file {path} is not a valid template: {exc}. "
                          "Write literal braces as {{ and }}.") from None
    if "" in used or any(not f.isidentifier() for f in used):
        raise PromptError(f"Prompt file {path} has a positional or malformed variable; "
                          f"use named ones: {', '.join('{' + v + '}' for v in sorted(variables))}.")
    unknown, missing = sorted(used - variables), sorted(variables - used)
    if unknown:
        raise PromptError(f"Prompt file {path} uses unknown variable(s) {', '.join(unknown)}; "
                          f"it may use {', '.join(sorted(variables))}.")
    if missing:
        raise PromptError(f"Prompt file {path} misses the variable(s) {', '.join(missing)}.")
    return Prompt(name, text)
