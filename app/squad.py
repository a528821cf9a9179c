"""Reads a SQuAD-format file (v1.1, or v2.0 with `is_impossible`) as a question set and, when asked, its corpus."""
import gzip
import json
from pathlib import Path

from app.evaluation import EvalFileError, EvalQuestion
from app.xquad import slug


def is_squad(path: Path) -> bool:
    return path.name.endswith((".json", ".json.gz"))


def _read(path: Path) -> list[dict]:
    try:
        opened = gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else open(path, encoding="utf-8")
        with opened as f:
            data = json.load(f)["data"]
        if not isinstance(data, list) or not data:
            raise ValueError("its 'data' list is empty")
        return data
    except FileNotFoundError:
        raise EvalFileError(f"No question file at {path}.") from None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path} is not a SQuAD-format file ({type(exc).__name__}: {exc}); it needs a 'data' "
                            "list of articles with 'paragraphs', each with 'context' and 'qas'.") from None


def load(path: Path, docs: Path | None = None) -> list[EvalQuestion]:
    """The file's questions: an answerable one expects its first answer in a cited passage and any of its answers
    in the answer; an unanswerable one (`is_impossible`) expects an abstention. With docs, each article's
    paragraphs are written there as one text file (NN_Title.txt), the question's `article`."""
    questions = []
    for number, article in enumerate(_read(path), 1):
        try:
            name = f"{number:02d}_{slug(str(article.get('title', 'article')))[:80] or 'article'}"
            contexts = []
            for paragraph in article["paragraphs"]:
                contexts.append(paragraph["context"].strip())
                for qa in paragraph["qas"]:
                    answers = list(dict.fromkeys(a["text"].strip() for a in qa.get("answers", []) if a["text"].strip()))
                    if qa.get("is_impossible") or not answers:
                        questions.append(EvalQuestion(str(qa["id"]), qa["question"].strip(), abstain=True,
                                                      article=name))
                    else:
                        questions.append(EvalQuestion(str(qa["id"]), qa["question"].strip(), (answers[0],),
                                                      (tuple(answers),), article=name))
        except (KeyError, TypeError, AttributeError) as exc:
            raise EvalFileError(f"{path}: article {number} does not follow the SQuAD format "
                                f"(missing or wrong {exc}).") from None
        if docs is not None:
            docs.mkdir(parents=True, exist_ok=True)
            (docs / f"{name}.txt").write_text("\n\n".join(contexts) + "\n", encoding="utf-8")
    if not questions:
        raise EvalFileError(f"{path} holds no questions.")
    return questions
