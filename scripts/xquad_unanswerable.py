"""Writes SQuAD 2.0's unanswerable questions on XQuAD's paragraphs as a question file for `python -m app eval`.

SQuAD 2.0 dev was written on the same articles as XQuAD, and its unanswerable questions were written to look
answerable from their paragraph. Those on the paragraphs XQuAD kept, of the articles chosen, each expect an
abstention; `article` names the document as `python -m app xquad` does, so the file runs against its
documents folder (Romanian paragraphs) with `--docs` and, being English, asks across languages.
"""
import argparse
import gzip
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.xquad import DEFAULT_SOURCE, slug  # noqa: E402

DEFAULT_SQUAD = Path("../shared/datasets/squad/dev-v2.0.en.json.gz")


def unanswerable(squad: Path, xquad: Path, first: int, last: int) -> list[dict]:
    english = json.loads((xquad / "xquad.en.json").read_text(encoding="utf-8"))["data"]
    kept = {p["context"].strip(): (n, a["title"]) for n, a in enumerate(english, 1) if first <= n <= last
            for p in a["paragraphs"]}
    questions = []
    for article in json.load(gzip.open(squad, "rt", encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            where = kept.get(paragraph["context"].strip())
            if where is None:
                continue
            for qa in paragraph["qas"]:
                if qa.get("is_impossible"):
                    questions.append({"id": qa["id"], "question": qa["question"].strip(), "lang": "en",
                                      "article": f"{where[0]:02d}_{slug(where[1])}", "expect": {"abstain": True}})
    return questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the XQuAD folder")
    parser.add_argument("--articles", default="25-48", help="XQuAD article numbers, FIRST-LAST (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("eval/xquad/questions.unanswerable.yaml"))
    args = parser.parse_args()
    first, last = map(int, args.articles.split("-"))
    questions = unanswerable(args.squad, args.source, first, last)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(yaml.safe_dump(questions, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
    print(f"Wrote {args.out}: {len(questions)} unanswerable questions on articles {first}-{last}")


if __name__ == "__main__":
    main()
