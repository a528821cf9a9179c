"""Answers with the sentences of the retrieved passages that a small learned ranker picks, the span reader's answer
in bold within them; no LLM."""
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.answerers import NOT_IN_DOCUMENTS, Answerer, sentence_features
from app.answerers.reader import Reader
from app.answers import Answer, AnswerSpan, Citation, Passage
from index.embeddings import Embedder
from index.language import detect, may_be
from index.text import answer_sentences

# Made by scripts/train_answer_ranker.py, which also says on which articles it was fitted and tested.
RANKER_FILE = Path(__file__).with_name("sentence_ranker.json")
DEFAULT_MIN_CONFIDENCE = 0.5  # the calibrated point: below it, "not in the documents"
READ_SENTENCES = 4  # the reader reads the sentences nearest the question, each with its neighbours
# What the abstention model weighs: the best sentence's evidence, how far the reader's best span beats "no
# answer", the share of the question's names and numbers that no passage holds, and whether the question is in
# another language than the passages.
EVIDENCE = ("sentence_evidence", "reader_margin", "missing_terms", "crosses_languages")
_reader: Reader | None = None
_reader_lock = threading.Lock()


def shared_reader() -> Reader:
    """The span reader, loaded once per process."""
    global _reader
    with _reader_lock:
        if _reader is None:
            _reader = Reader()
        return _reader


def _preload_reader() -> None:
    try:
        shared_reader()
    except Exception:  # noqa: BLE001 - the first question that needs the reader meets the same error and reports it
        pass


@dataclass(frozen=True)
class Candidate:
    passage: int  # index into the retrieved passages
    start: int
    end: int
    similarity: float  # question vs sentence, cosine
    score: float  # evidence that the documents answer at all: similarity, passage score, shared words
    rank_score: float  # the ranker's: how likely this sentence is the one that answers
    span: tuple[int, int] | None = None  # the reader's best span inside the sentence, offsets in the passage
    margin: float = float("nan")  # how far that span beats "no answer" (NaN: the reader did not read it)


@dataclass(frozen=True)
class SentenceRanker:
    """A linear model over sentence_features.FEATURES, fitted listwise: a softmax over each question's candidates."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    second_margin: float  # a second sentence joins the answer when it ranks this close to the first
    abstention: dict  # model id → {"weights": [one per EVIDENCE], "bias": b}, whatever the question's language
    bold_margin: float = float("inf")  # the reader's span is bolded when it beats "no answer" by this much

    @classmethod
    def load(cls, path: Path = RANKER_FILE, reader: bool = True) -> "SentenceRanker":
        """The ranker fitted with the span reader's features, or (reader=False) the one fitted without them."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != sentence_features.FEATURES or tuple(data["evidence"]) != EVIDENCE:
            raise ValueError(f"{path} was fitted on other features; run scripts/train_answer_ranker.py")
        model = data["models"]["reader" if reader else "no_reader"]
        return cls(np.array(model["mean"]), np.array(model["scale"]), np.array(model["weights"]),
                   model["second_margin"], model["abstention"], model.get("bold_margin", float("inf")))

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return ((rows - self.mean) / self.scale) @ self.weights

    def chosen(self, scores: np.ndarray) -> list[int]:
        """The sentences that make the answer: the best, and the runner-up when it scores within the margin."""
        order = np.argsort(-np.asarray(scores), kind="stable")
        pick = [int(order[0])]
        if len(order) > 1 and scores[order[0]] - scores[order[1]] < self.second_margin:
            pick.append(int(order[1]))  # the evidence is split, or the ranker is unsure: quote both
        return pick


class ExtractiveAnswerer(Answerer):
    name = "extractive"
    PASSAGE_WEIGHT = 0.5  # in the evidence score, a sentence inherits part of its passage's score
    OVERLAP_WEIGHT = 0.05  # and shared names and numbers count a little

    def __init__(self, embedder: Embedder, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 ranker: SentenceRanker | None = None, cache_size: int = 4096, reader: Reader | None = None,
                 use_reader: bool = True):
        self.embedder = embedder
        self.ranker = ranker or SentenceRanker.load(reader=use_reader)
        # without the reader: no exact answer, and a ranker and abstention fitted without its findings
        self._reader, self._use_reader = reader, use_reader
        if use_reader and reader is None:  # its session loads while the first question is embedded and searched
            # not a daemon: a process that ends early waits for it, since ending inside onnxruntime aborts
            threading.Thread(target=_preload_reader, name="reader-load").start()
        self.min_confidence = min_confidence
        # Evidence scores are on each embedding model's own scale: one abstention model per embedding model, the
        # same for every question language. A model the file does not calibrate gets a steep line through its
        # own threshold on the sentence evidence.
        steep = {"sentence_evidence": 100.0, "missing_terms": -2.0}
        fallback = {"weights": [steep.get(name, 0.0) for name in EVIDENCE], "bias": -100.0 * embedder.answer_threshold}
        self.calibration = self.ranker.abstention.get(embedder.calibrated_as or embedder.model_id, fallback)
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size
        # Looks sentence vectors up in the index (ChunkStore.sentence_vectors), when the index keeps them
        self.stored_vectors: Callable[[list[str]], dict[str, np.ndarray]] | None = None

    @property
    def reader(self) -> Reader | None:
        """The span reader (waiting for it if it is still loading), or None when this answerer runs without it."""
        if not self._use_reader:
            return None
        return self._reader or shared_reader()

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """The sentences' vectors: remembered, else kept by the index (when it keeps them), else embedded now."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if len(self._cache) + len(missing) > self._cache_size:
                self._cache.clear()
            stored = self.stored_vectors(missing) if self.stored_vectors else {}
            self._cache.update((text, np.asarray(vector, dtype=np.float32)) for text, vector in stored.items())
            missing = [t for t in missing if t not in stored]
            for text, vector in zip(missing, self.embedder.embed_documents(missing) if missing else []):
                self._cache[text] = np.asarray(vector, dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def candidates(self, question: str, passages: list[Passage]) -> tuple[list[Candidate], np.ndarray]:
        """Every sentence of the passages, headings left out, best first by the ranker; and their features."""
        spans, found = [], []
        for i, p in enumerate(passages):
            text = p.chunk.text
            kept = answer_sentences(text)
            spans += [(i, s, e) for s, e in kept]
            found += [(i, n, p.chunk.text[s:e]) for n, (s, e) in enumerate(kept)]
        if not spans:
            return [], np.zeros((0, len(sentence_features.FEATURES)), np.float32)
        similarity = self._vectors([text for *_, text in found]) @ self.embedder.query_vector(question)
        margins, read_spans = self._read(question, passages, spans, similarity)
        rows = sentence_features.features(question, found, similarity, [p.score for p in passages], margins)
        ranked = self.ranker.scores(rows)
        overlap = rows[:, sentence_features.FEATURES.index("word_overlap")]
        out = []
        for (i, s, e), sim, shared, rank_score, margin, span in zip(spans, similarity, overlap, ranked, margins,
                                                                    read_spans):
            score = (1 - self.PASSAGE_WEIGHT) * float(sim) + self.PASSAGE_WEIGHT * passages[i].score \
                + self.OVERLAP_WEIGHT * float(shared)
            out.append(Candidate(i, s, e, float(sim), score, float(rank_score), span, float(margin)))
        order = sorted(range(len(out)), key=lambda j: -out[j].rank_score)
        return [out[j] for j in order], rows[order]

    def _read(self, question: str, passages: list[Passage], spans: list[tuple[int, int, int]],
              similarity: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int] | None]]:
        """The reader's margin (NaN where it did not read) and best span for each sentence.

        It reads the READ_SENTENCES sentences nearest the question, each between its neighbours in its
        passage, neighbouring pieces of a passage joined: a bounded cost however long the passages.
        """
        reader = self.reader
        if reader is None:
            return np.full(len(spans), np.nan), [None] * len(spans)
        nearest = np.argsort(-similarity, kind="stable")[:READ_SENTENCES]
        pieces: dict[int, list[list[int]]] = {}
        for k in sorted(nearest, key=lambda k: spans[k][1:]):
            i = spans[k][0]
            before = spans[k - 1][1] if k > 0 and spans[k - 1][0] == i else spans[k][1]
            after = spans[k + 1][2] if k + 1 < len(spans) and spans[k + 1][0] == i else spans[k][2]
            ranges = pieces.setdefault(i, [])
            if ranges and before <= ranges[-1][1]:
                ranges[-1][1] = max(ranges[-1][1], after)
            else:
                ranges.append([before, after])
        texts, members, offsets = [], [], []
        for i, ranges in pieces.items():
            for start, end in ranges:
                texts.append(passages[i].chunk.text[start:end])
                offsets.append(start)
                members.append([k for k, (p, s, e) in enumerate(spans) if p == i and start <= s and e <= end])
        found = reader.read(question, texts, [[(spans[k][1] - o, spans[k][2] - o) for k in ks]
                                                   for ks, o in zip(members, offsets)])
        margins, best = np.full(len(spans), np.nan), [None] * len(spans)
        for ks, o, per_sentence in zip(members, offsets, found):
            for k, span in zip(ks, per_sentence):
                if span is not None:
                    margins[k], best[k] = span.margin, (span.start + o, span.end + o)
        return margins, best

    @staticmethod
    def evidence(question: str, passages: list[Passage], candidates: list[Candidate]) -> np.ndarray:
        """What the abstention model weighs (EVIDENCE). The question's language is not among it, only whether
        it differs from the language of the passages found: a question and a passage in two languages are less
        similar, whichever the two, than a question and a passage in one."""
        best = max(candidates, key=lambda c: c.score)
        margins = [c.margin for c in candidates if not math.isnan(c.margin)]
        margin = float(np.clip(max(margins), sentence_features.READER_FLOOR, -sentence_features.READER_FLOOR)) \
            if margins else sentence_features.READER_FLOOR
        texts = [p.chunk.text for p in passages]
        missing = sentence_features.missing_terms(question, texts)
        return np.array([best.score, margin, missing, crosses_languages(question, texts)])

    def confidence(self, question: str, passages: list[Passage], candidates: list[Candidate]) -> float:
        """How surely the documents answer, 0–1: the fitted abstention model, 0.5 at its calibrated point."""
        if not candidates:
            return 0.0
        model = self.calibration
        inputs = self.evidence(question, passages, candidates)
        return 1 / (1 + math.exp(-float(np.dot(model["weights"], inputs) + model["bias"])))

    def answer(self, question: str, passages: list[Passage]) -> Answer:
        candidates, _ = self.candidates(question, passages)
        confidence = self.confidence(question, passages, candidates)
        if not candidates or confidence < self.min_confidence:
            return Answer(question, NOT_IN_DOCUMENTS, abstained=True, passages=passages, confidence=confidence)
        chosen = [candidates[i] for i in self.ranker.chosen(np.array([c.rank_score for c in candidates]))]
        said = [passages[c.passage].chunk.text[c.start:c.end] for c in chosen]
        if len(chosen) == 2 and _same_words(*said):
            chosen = chosen[:1]  # a sentence the document repeats adds nothing the first did not say
        citations = _cite(chosen, passages)
        text = " ".join(f"{quote} [{citation.n}]" for citation in citations for quote in citation.quotes)
        return Answer(question, text, abstained=False, citations=citations, passages=passages,
                      confidence=confidence, span=_span(chosen, citations, passages, self.ranker.bold_margin))


def crosses_languages(question: str, texts: list[str]) -> float:
    """1.0 when the question is not in the language of the texts found for it (the first of them lead), else 0.0."""
    return 0.0 if may_be(question, detect(" ".join(texts))) else 1.0


def _same_words(one: str, other: str) -> bool:
    return " ".join(one.casefold().split()) == " ".join(other.casefold().split())


def _span(chosen: list[Candidate], citations: list[Citation], passages: list[Passage],
          bold_margin: float) -> AnswerSpan | None:
    """The reader's best span among the quoted sentences, with the citation that quotes it; confident (shown in
    bold) where the reader's margin reaches bold_margin."""
    spanned = [c for c in chosen if c.span is not None]
    if not spanned:
        return None
    best = max(spanned, key=lambda c: c.margin)
    citation = next(c for c in citations if c.passage is passages[best.passage])
    start, end = best.span
    return AnswerSpan(citation.n, start, end, citation.passage.chunk.text[start:end], best.margin >= bold_margin)


def _cite(chosen: list[Candidate], passages: list[Passage]) -> list[Citation]:
    """One citation per passage quoted, its sentences highlighted in reading order."""
    by_passage: dict[int, list[Candidate]] = {}
    for candidate in chosen:
        by_passage.setdefault(candidate.passage, []).append(candidate)
    citations = []
    for n, (i, quoted) in enumerate(by_passage.items(), 1):
        spans = sorted((c.start, c.end) for c in quoted)
        merged = [list(spans[0])]
        for start, end in spans[1:]:
            gap = passages[i].chunk.text[merged[-1][1]:start]
            if not gap.strip():  # neighbouring sentences read as one quote
                merged[-1][1] = end
            else:
                merged.append([start, end])
        (start, end), *more = merged
        citations.append(Citation(n, passages[i], start, end, tuple(tuple(m) for m in more)))
    return citations
