"""Would a cross-encoder fine-tuned from e5-small pick better sentences, or abstain better, than the ranker?

Reads what the answerer saw on XQuAD (python scripts/train_answer_ranker.py --views FILE). Each
question's candidates are the ranker's best --candidates sentences. The cross-encoder is the converted
e5-small reading "query: …" and "passage: …" as one input, mean-pooled into one score; its top --layers
layers and the score are fitted listwise (a softmax over each question's candidates, as the ranker is)
on the questions of articles 1-20, for one pass. The weight of its score added to the ranker's is
chosen on articles 21-24; the figures are reported on articles 25-48:
- one-sentence accuracy without abstention: the ranker, the cross-encoder, the two added;
- abstention: how well the best candidate's cross-encoder score tells answerable questions from
  near- and off-topic ones (AUC, and the share abstained on when 5% of answerable ones abstain),
  against the evidence score the answerer uses.
Needs torch and transformers (requirements.txt) and scikit-learn (scripts/requirements-train.txt);
about 40 minutes on 2 cores.
"""
import argparse
import json
import pickle
import random
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.answerers import extractive  # noqa: E402
from index import e5_convert  # noqa: E402

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


def candidates(views: list[dict], ranker: extractive.SentenceRanker, count: int) -> list[dict]:
    """The ranker's best `count` sentences of each question, best first."""
    out = []
    for view in views:
        scores = ranker.scores(view["rows"])
        top = np.argsort(-scores)[:count]
        out.append({"question": view["question"], "article": view["article"], "lang": view["lang"],
                    "best": view["best"], "texts": [view["texts"][i] for i in top],
                    "holds": view["holds"][top], "ranker": scores[top]})
    return out


class CrossEncoder:
    def __init__(self, folder: Path, trained_layers: int):
        import torch
        from tokenizers import Tokenizer
        from transformers import BertModel

        self.torch = torch
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.bos, self.eos = self.tokenizer.token_to_id("<s>"), self.tokenizer.token_to_id("</s>")
        self.bert = BertModel.from_pretrained(str(folder), add_pooling_layer=False)
        self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)
        layers = self.bert.config.num_hidden_layers
        for name, parameter in self.bert.named_parameters():
            parameter.requires_grad = any(f"encoder.layer.{i}." in name for i in range(layers - trained_layers, layers))
        self.optimizer = torch.optim.AdamW([
            {"params": [p for p in self.bert.parameters() if p.requires_grad], "lr": 4e-5},
            {"params": self.head.parameters(), "lr": 1e-3}])

    def _ids(self, question: str, sentence: str) -> list[int]:
        def piece(text, limit):
            return self.tokenizer.encode(unicodedata.normalize("NFC", text), add_special_tokens=False).ids[:limit]
        return [self.bos, *piece("query: " + question, 48), self.eos, self.eos,
                *piece("passage: " + sentence, 120), self.eos]

    def scores(self, pairs: list[tuple[str, str]]):
        torch = self.torch
        rows = [self._ids(q, s) for q, s in pairs]
        ids = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = torch.tensor(row)
            mask[i, :len(row)] = 1
        states = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.head(pooled).squeeze(-1)

    def fit(self, items: list[dict], per_step: int) -> None:
        torch = self.torch
        self.bert.train()
        for start in range(0, len(items), per_step):
            group = items[start:start + per_step]
            scores = self.scores([(it["question"], t) for it in group for t in it["texts"]])
            loss, at = 0.0, 0
            for it in group:
                mine = scores[at:at + len(it["texts"])]
                at += len(it["texts"])
                held = torch.tensor(it["holds"], dtype=torch.bool)
                loss = loss - (torch.logsumexp(mine[held], 0) - torch.logsumexp(mine, 0))
            (loss / len(group)).backward()
            self.optimizer.step()
            self.optimizer.zero_grad()
        self.bert.eval()

    def score(self, items: list[dict]) -> None:
        with self.torch.no_grad():
            for it in items:
                it["cross"] = self.scores([(it["question"], t) for t in it["texts"]]).numpy()


def accuracy(items: list[dict], cross: float, ranker: float = 1.0) -> float:
    """One-sentence accuracy when the sentence with the best ranker * its score + cross * its score answers."""
    return round(float(np.mean([it["holds"][np.argmax(ranker * it["ranker"] + cross * it["cross"])]
                                for it in items])), 3)


def separation(answerable: list[dict], others: list[dict], signal) -> dict:
    yes, no = np.array([signal(it) for it in answerable]), np.array([signal(it) for it in others])
    threshold = np.quantile(yes, 0.05)
    return {"auc": round(float(roc_auc_score(np.r_[np.ones(len(yes)), np.zeros(len(no))], np.r_[yes, no])), 3),
            "abstained_at_5pct_wrong": round(float(np.mean(no < threshold)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--views", type=Path, required=True, help="from train_answer_ranker.py --views")
    parser.add_argument("--candidates", type=int, default=6)
    parser.add_argument("--layers", type=int, default=4, help="top layers fitted; the others stay as they are")
    parser.add_argument("--per-step", type=int, default=4, help="questions per optimizer step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("eval/out/cross_encoder_probe.json"))
    args = parser.parse_args()

    import torch

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    seen = pickle.loads(args.views.read_bytes())
    ranker = extractive.SentenceRanker.load()
    fitting = candidates(seen["fit"]["answerable"], ranker, args.candidates)
    train = [it for it in fitting if it["article"] < "21" and it["holds"].any()]
    tune = [it for it in fitting if it["article"] >= "21"]
    report = {kind: candidates(seen["report"][kind], ranker, args.candidates)
              for kind in ("answerable", "near-topic", "off-topic")}

    started = time.perf_counter()
    model = CrossEncoder(e5_convert.prepared("q4"), args.layers)
    random.shuffle(train)
    model.fit(train, args.per_step)
    fitted = time.perf_counter() - started
    for items in (tune, *report.values()):
        model.score(items)
    weight = max(WEIGHTS, key=lambda w: accuracy(tune, w))

    figures = {"fitted_on": len(train), "weight_chosen_on": len(tune), "weight": weight,
               "fit_seconds": round(fitted), "score_seconds": round(time.perf_counter() - started - fitted)}
    for language in ("en", "ro"):
        mine = {kind: [it for it in items if it["lang"] == language] for kind, items in report.items()}
        answerable = mine["answerable"]
        figures[language] = {
            "questions": len(answerable),
            "answer_among_candidates": round(float(np.mean([it["holds"].any() for it in answerable])), 3),
            "one_sentence_accuracy": {"ranker": accuracy(answerable, 0.0),
                                      "cross_encoder": accuracy(answerable, 1.0, ranker=0.0),
                                      "ranker_plus_cross_encoder": accuracy(answerable, weight)},
            **{f"{kind}_abstention": {"evidence": separation(answerable, mine[kind], lambda it: it["best"]),
                                      "cross_encoder": separation(answerable, mine[kind],
                                                                  lambda it: float(it["cross"].max()))}
               for kind in ("near-topic", "off-topic")},
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=1))
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
