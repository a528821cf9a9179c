"""Answers with the sentences of the retrieved passages that best match the question; no LLM."""
from dataclasses import dataclass

import numpy as np

from app.answerers import NOT_IN_DOCUMENTS, Answerer
from app.answers import Answer, Citation, Passage
from index.embeddings import Embedder
from index.text import content_words, is_heading, sentence_spans


@dataclass(frozen=True)
class Candidate:
    passage: int  # index into the retrieved passages
    start: int
    end: int
    similarity: float  # question vs sentence, cosine
    overlap: float  # share of the question's content words found in the sentence
    score: float


class ExtractiveAnswerer(Answerer):
    name = "extractive"
    PASSAGE_WEIGHT = 0.5  # a sentence inherits part of its passage's score: context disambiguates
    OVERLAP_WEIGHT = 0.05  # shared names and numbers break near-ties between sentences

    def __init__(self, embedder: Embedder, cache_size: int = 4096):
        self.embedder = embedder
        # Below this best-sentence score the answer is "not in the documents"; see Embedder.
        self.min_score = embedder.answer_threshold
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

    def candidates(self, question: str, passages: list[Passage]) -> list[Candidate]:
        spans = [(i, s, e) for i, p in enumerate(passages) for s, e in sentence_spans(p.chunk.text)
                 if not is_heading(p.chunk.text, s, e)]
        if not spans:
            return []
        texts = [passages[i].chunk.text[s:e] for i, s, e in spans]
        query = self.embedder.query_vector(question)
        similarity = self._vectors(texts) @ query
        asked = content_words(question)
        out = []
        for (i, s, e), text, sim in zip(spans, texts, similarity):
            overlap = len(asked & content_words(text)) / len(asked) if asked else 0.0
            score = (1 - self.PASSAGE_WEIGHT) * float(sim) + self.PASSAGE_WEIGHT * passages[i].score \
                + self.OVERLAP_WEIGHT * overlap
            out.append(Candidate(i, s, e, float(sim), overlap, score))
        return sorted(out, key=lambda c: -c.score)

    def answer(self, question: str, passages: list[Passage]) -> Answer:
        candidates = self.candidates(question, passages)
        if not candidates or candidates[0].score < self.min_score:
            return Answer(question, NOT_IN_DOCUMENTS, abstained=True, passages=passages)
        best = candidates[0]
        passage = passages[best.passage]
        citation = Citation(1, passage, best.start, best.end)
        return Answer(question, f"{citation.quote} [1]", abstained=False, citations=[citation],
                      passages=passages)
