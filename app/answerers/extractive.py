"""Answers with the sentences of the retrieved passages that a small learned ranker picks; no LLM."""
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.answerers import NOT_IN_DOCUMENTS, Answerer, sentence_features
from app.answers import Answer, Citation, Passage
from index.embeddings import Embedder
from index.language import detect, may_be
from index.text import is_heading, sentence_spans

# Made by scripts/train_answer_ranker.py, which also says on which articles it was fitted and tested.
RANKER_FILE = Path(__file__).with_name("sentence_ranker.json")
DEFAULT_MIN_CONFIDENCE = 0.5  # the calibrated point: below it, "not in the documents"
MISSING_TERMS_PENALTY = 0.02  # evidence taken off, times the share of the question's names and numbers unfound


@dataclass(frozen=True)
class Candidate:
    passage: int  # index into the retrieved passages
    start: int
    end: int
    similarity: float  # question vs sentence, cosine
    score: float  # evidence that the documents answer at all: similarity, passage score, shared words
    rank_score: float  # the ranker's: how likely this sentence is the one that answers


@dataclass(frozen=True)
class SentenceRanker:
    """A linear model over sentence_features.FEATURES, fitted listwise: a softmax over each question's candidates."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    second_margin: float  # a second sentence joins the answer when it ranks this close to the first
    abstention: dict  # model id → {"same": threshold, "cross": threshold, "slope": confidence slope}

    @classmethod
    def load(cls, path: Path = RANKER_FILE) -> "SentenceRanker":
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != sentence_features.FEATURES:
            raise ValueError(f"{path} was fitted on other features; run scripts/train_answer_ranker.py")
        return cls(np.array(data["mean"]), np.array(data["scale"]), np.array(data["weights"]),
                   data["second_margin"], data["abstention"])

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
                 ranker: SentenceRanker | None = None, cache_size: int = 4096):
        self.embedder = embedder
        self.ranker = ranker or SentenceRanker.load()
        self.min_confidence = min_confidence
        # Evidence scores are on each model's own scale, and run higher when the question is in the
        # documents' language: thresholds per model and per language relation, else the model's own one.
        fallback = {"same": embedder.answer_threshold, "cross": embedder.answer_threshold, "slope": 100.0}
        self.calibration = self.ranker.abstention.get(embedder.model_id, fallback)
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size

    def _vectors(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if len(self._cache) + len(missing) > self._cache_size:
                self._cache.clear()
            for text, vector in zip(missing, self.embedder.embed_documents(missing)):
                self._cache[text] = np.asarray(vector, dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def candidates(self, question: str, passages: list[Passage]) -> tuple[list[Candidate], np.ndarray]:
        """Every sentence of the passages, headings left out, best first by the ranker; and their features."""
        spans, found = [], []
        for i, p in enumerate(passages):
            kept = [(s, e) for s, e in sentence_spans(p.chunk.text) if not is_heading(p.chunk.text, s, e)]
            spans += [(i, s, e) for s, e in kept]
            found += [(i, n, p.chunk.text[s:e]) for n, (s, e) in enumerate(kept)]
        if not spans:
            return [], np.zeros((0, len(sentence_features.FEATURES)), np.float32)
        similarity = self._vectors([text for *_, text in found]) @ self.embedder.query_vector(question)
        rows = sentence_features.features(question, found, similarity, [p.score for p in passages])
        ranked = self.ranker.scores(rows)
        overlap = rows[:, sentence_features.FEATURES.index("word_overlap")]
        out = []
        for (i, s, e), sim, shared, rank_score in zip(spans, similarity, overlap, ranked):
            score = (1 - self.PASSAGE_WEIGHT) * float(sim) + self.PASSAGE_WEIGHT * passages[i].score \
                + self.OVERLAP_WEIGHT * float(shared)
            out.append(Candidate(i, s, e, float(sim), score, float(rank_score)))
        order = sorted(range(len(out)), key=lambda j: -out[j].rank_score)
        return [out[j] for j in order], rows[order]

    @staticmethod
    def evidence(question: str, passages: list[Passage], candidates: list[Candidate]) -> tuple[float, str]:
        """The best evidence score, and whether the question is in the language of the passage that gave it.

        In the documents' own language a name or number of the question that no passage holds is telling
        (across languages names are spelt differently): it lowers the evidence.
        """
        best = max(candidates, key=lambda c: c.score)
        if not may_be(question, detect(passages[best.passage].chunk.text)):
            return best.score, "cross"
        missing = sentence_features.missing_terms(question, [p.chunk.text for p in passages])
        return best.score - MISSING_TERMS_PENALTY * missing, "same"

    def confidence(self, question: str, passages: list[Passage], candidates: list[Candidate]) -> float:
        """How surely the documents answer, 0–1: the evidence against its calibrated threshold (0.5 there)."""
        if not candidates:
            return 0.0
        best, relation = self.evidence(question, passages, candidates)
        margin = best - self.calibration[relation]
        return 1 / (1 + math.exp(-self.calibration["slope"] * margin))

    def answer(self, question: str, passages: list[Passage]) -> Answer:
        candidates, _ = self.candidates(question, passages)
        confidence = self.confidence(question, passages, candidates)
        if not candidates or confidence < self.min_confidence:
            return Answer(question, NOT_IN_DOCUMENTS, abstained=True, passages=passages, confidence=confidence)
        chosen = [candidates[i] for i in self.ranker.chosen(np.array([c.rank_score for c in candidates]))]
        citations = _cite(chosen, passages)
        text = " ".join(f"{quote} [{citation.n}]" for citation in citations for quote in citation.quotes)
        return Answer(question, text, abstained=False, citations=citations, passages=passages,
                      confidence=confidence)


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
