"""Turns XQuAD into a documents folder (Romanian paragraphs) and question files: English or Romanian questions, and
SQuAD 2.0's unanswerable questions on the same paragraphs."""
import json
import re
from pathlib import Path

import yaml

from app.errors import AppError

DEFAULT_SOURCE = Path(__file__).resolve().parent.parent / "eval" / "datasets" / "xquad"  # shipped: README there
UNANSWERABLE_FILE = "squad2-unanswerable.en.json"
LANGUAGES = ("en", "ro")


def _read(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise AppError(f"Cannot read XQuAD from {path}: {exc}. Point --source at the folder "
                       f"holding xquad.ro.json, xquad.en.json and {UNANSWERABLE_FILE}.") from None


def slug(title: str) -> str:
    """An article title as a file name: letters, digits and underscores."""
    return re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_")


def prepare(source: Path, out: Path, articles: slice = slice(None),
            language: str = "en", paragraphs: str = "ro") -> tuple[Path, Path, int]:
    """Writes OUT/docs/NN_Title.txt (paragraphs apart by blank lines) and OUT/questions.yaml
    (English questions) or OUT/questions.ro.yaml (Romanian ones).

    The paragraphs are Romanian, or English with paragraphs="en". Each question, in `language`,
    expects a cited passage, and the answer, to hold the answer span in the paragraphs' language; it
    names its language (`lang`) and its document (`article`, the file's stem).
    """
    if language not in LANGUAGES:
        raise AppError(f"No XQuAD questions in '{language}': choose one of {', '.join(LANGUAGES)}.")
    if paragraphs not in LANGUAGES:
        raise AppError(f"No XQuAD paragraphs in '{paragraphs}': choose one of {', '.join(LANGUAGES)}.")
    romanian, english = _read(source / "xquad.ro.json"), _read(source / "xquad.en.json")
    docs = out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    questions = []
    for number, (ro, en) in list(enumerate(zip(romanian, english), 1))[articles]:
        article = f"{number:02d}_{slug(en['title'])}"
        shown = en if paragraphs == "en" else ro
        (docs / f"{article}.txt").write_text(
            "\n\n".join(p["context"].strip() for p in shown["paragraphs"]) + "\n", encoding="utf-8")
        for ro_par, en_par in zip(ro["paragraphs"], en["paragraphs"]):
            for ro_qa, en_qa in zip(ro_par["qas"], en_par["qas"]):
                span = (en_qa if paragraphs == "en" else ro_qa)["answers"][0]["text"].strip()
                asked = ro_qa if language == "ro" else en_qa
                questions.append({"id": asked["id"], "question": asked["question"].strip(),
                                  "lang": language, "article": article,
                                  "expect": {"passage_contains": [span], "answer_contains": [[span]]}})
    path = out / ("questions.yaml" if language == "en" else f"questions.{language}.yaml")
    path.write_text(yaml.safe_dump(questions, allow_unicode=True, sort_keys=False, width=1000),
                    encoding="utf-8")
    return docs, path, len(questions)


def unanswerable(source: Path, out: Path, articles: slice = slice(None)) -> tuple[Path, int]:
    """Writes OUT/questions.unanswerable.yaml: SQuAD 2.0's unanswerable questions (English) on the paragraphs of
    the chosen XQuAD articles, each expecting an abstention and naming its document as prepare() does."""
    english = _read(source / "xquad.en.json")
    chosen = list(enumerate(english, 1))[articles]
    where = {p["context"].strip(): f"{n:02d}_{slug(a['title'])}" for n, a in chosen for p in a["paragraphs"]}
    questions = [{"id": qa["id"], "question": qa["question"].strip(), "lang": "en", "article": where[key],
                  "expect": {"abstain": True}}
                 for article in _read(source / UNANSWERABLE_FILE) for paragraph in article["paragraphs"]
                 if (key := paragraph["context"].strip()) in where for qa in paragraph["qas"]]
    path = out / "questions.unanswerable.yaml"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(questions, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
    return path, len(questions)


def unanswerable_pairs(source: Path, articles: slice = slice(None)) -> list[tuple[str, str, str]]:
    """SQuAD 2.0's unanswerable questions (English) on the chosen XQuAD articles' paragraphs, each as (question,
    English paragraph, its Romanian translation)."""
    paragraphs = {en["context"].strip(): (en["context"], ro["context"])
                  for article_en, article_ro in zip(_read(source / "xquad.en.json")[articles],
                                                    _read(source / "xquad.ro.json")[articles])
                  for en, ro in zip(article_en["paragraphs"], article_ro["paragraphs"])}
    return [(qa["question"], *paragraphs[key])
            for article in _read(source / UNANSWERABLE_FILE) for paragraph in article["paragraphs"]
            if (key := paragraph["context"].strip()) in paragraphs for qa in paragraph["qas"]]
