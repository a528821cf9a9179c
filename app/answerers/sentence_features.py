"""What the sentence ranker knows of each candidate sentence: similarities, ranks, shared words, answer type, and
what the span reader found in it."""
import re

import numpy as np

from index.text import content_words, fold

_WORD = re.compile(r"\w+")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_NUMBER = re.compile(r"\d")
_MONTHS = frozenset(
    """january february march april may june july august september october november december
    ianuarie februarie martie aprilie mai iunie iulie august septembrie octombrie noiembrie decembrie
    enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
    janvier fevrier mars avril juin juillet aout septembre octobre novembre decembre
    januar februar marz juni juli oktober dezember gennaio febbraio aprile maggio giugno luglio
    agosto settembre ottobre dicembre""".split())
_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten hundred thousand million billion
    unu doi doua trei patru cinci sase sapte opt noua zece suta sute mie mii milion milioane miliard
    miliarde dozen percent procent""".split())

# The interrogative words opening a question, folded, in the languages the model reads best; the answer
# each kind wants is a cue for the sentence that holds it. Three-word, then two-word forms are tried first.
_QUESTION_WORDS = {
    **dict.fromkeys(["how many", "how much", "cat de", "wie viele", "wie viel", "cuantos", "cuantas", "cuanto",
                     "quanti", "quante", "quanto", "combien", "cati", "cate", "cat", "cata"], "how many"),
    **dict.fromkeys(["when", "cand", "what year", "which year", "what date", "in ce an", "ce an", "in ce data",
                     "wann", "quand", "cuando", "quando", "en que ano"], "when"),
    **dict.fromkeys(["who", "whom", "whose", "cine", "cui", "al cui", "a cui", "wer", "wem", "qui", "quien",
                     "quienes", "chi"], "who"),
    **dict.fromkeys(["where", "unde", "wo", "ou", "donde", "dove"], "where"),
    **dict.fromkeys(["why", "de ce", "warum", "pourquoi", "por que", "perche"], "why"),
    **dict.fromkeys(["how", "cum", "wie", "comment", "como"], "how"),
    **dict.fromkeys(["what", "which", "ce", "care", "carui", "carei", "caror", "caruia", "careia",
                     "welche", "welcher", "que", "quel", "quelle", "cual", "qual", "quale"], "what/which"),
}
QUESTION_TYPES = ("when", "how many", "who", "where", "why", "how", "what/which", "other")


def question_type(question: str) -> str:
    """What the question asks for, from its first interrogative word: one of QUESTION_TYPES."""
    words = _WORD.findall(fold(question))
    for i in range(min(3, len(words))):
        for size in (3, 2, 1):
            kind = _QUESTION_WORDS.get(" ".join(words[i:i + size])) if i + size <= len(words) else None
            if kind:
                return kind
    return "other"


def _prefixes(words: set[str], size: int = 5) -> set[str]:
    return {w[:size] for w in words}


def _has_name(sentence: str) -> bool:
    """A capitalised word that does not open the sentence: a name, most of the time."""
    words = sentence.split()
    return any(w[:1].isupper() for w in words[1:])


FEATURES = (
    "similarity", "similarity_gap", "similarity_rank", "similarity_rank_in_passage",
    "passage_score", "passage_gap", "passage_rank",
    "word_overlap", "prefix_overlap", "numbers_shared",
    "has_year", "has_number", "has_name",
    "when_year", "how_many_number", "who_name", "where_name",
    "length", "first_in_passage", "position",
    "reader_read", "reader_margin", "reader_gap", "reader_best",
)
READER_FLOOR = -15.0  # the reader's margin given to sentences it did not read, and its lower bound


def features(question: str, candidates: list[tuple[int, int, str]], similarities: np.ndarray,
             passage_scores: list[float], reader_margins: np.ndarray) -> np.ndarray:
    """One row per candidate sentence, in FEATURES order.

    candidates: (passage rank, sentence number in its passage, sentence text), for every sentence of the
    retrieved passages; similarities: question vs each sentence; passage_scores: question vs each passage;
    reader_margins: how far the reader's best span in each sentence beats "no answer" (NaN: not read).
    """
    n = len(candidates)
    if not n:
        return np.zeros((0, len(FEATURES)), np.float32)
    sims = np.asarray(similarities, np.float64)
    order = np.argsort(-sims, kind="stable")
    sim_rank = np.empty(n)
    sim_rank[order] = np.arange(n)
    in_passage = np.zeros(n)
    for p in {c[0] for c in candidates}:
        members = [i for i, c in enumerate(candidates) if c[0] == p]
        ranked = sorted(members, key=lambda i: -sims[i])
        for r, i in enumerate(ranked):
            in_passage[i] = r
    per_passage = {}
    for c in candidates:
        per_passage[c[0]] = per_passage.get(c[0], 0) + 1

    asked = content_words(question)
    asked_prefixes = _prefixes(asked)
    asked_numbers = set(re.findall(r"\d+", question))
    kind = question_type(question)
    top_passage = max(passage_scores) if passage_scores else 0.0
    read = ~np.isnan(reader_margins)
    margins = np.clip(np.where(read, reader_margins, READER_FLOOR), READER_FLOOR, -READER_FLOOR)
    top_margin = margins.max()
    rows = np.zeros((n, len(FEATURES)), np.float32)
    for i, (p, number, text) in enumerate(candidates):
        words = content_words(text)
        folded_words = set(_WORD.findall(fold(text)))
        year = bool(_YEAR.search(text)) or bool(folded_words & _MONTHS)
        has_number = bool(_NUMBER.search(text)) or bool(folded_words & _NUMBER_WORDS)
        name = _has_name(text)
        rows[i] = (
            sims[i], sims[order[0]] - sims[i], 1 / (1 + sim_rank[i]), 1 / (1 + in_passage[i]),
            passage_scores[p], top_passage - passage_scores[p], 1 / (1 + p),
            len(asked & words) / len(asked) if asked else 0.0,
            len(asked_prefixes & _prefixes(words)) / len(asked_prefixes) if asked_prefixes else 0.0,
            float(bool(asked_numbers) and asked_numbers <= set(re.findall(r"\d+", text))),
            float(year), float(has_number), float(name),
            float(kind == "when" and year), float(kind == "how many" and has_number),
            float(kind == "who" and name), float(kind == "where" and name),
            np.log1p(len(text.split())), float(number == 0), number / max(per_passage[p] - 1, 1),
            float(read[i]), margins[i], top_margin - margins[i], float(read[i] and margins[i] == top_margin),
        )
    return rows


def key_terms(question: str) -> set[str]:
    """The question's names and numbers, folded: a capitalised word past the first, or a number."""
    words = _WORD.findall(question)
    return {fold(w) for i, w in enumerate(words)
            if w.isdigit() or (i > 0 and w[:1].isupper() and len(w) >= 3)}


def missing_terms(question: str, passages: list[str]) -> float:
    """Share of the question's names and numbers that no passage holds (by their first five letters)."""
    terms = key_terms(question)
    if not terms:
        return 0.0
    held = set()
    for text in passages:
        held |= {w[:5] for w in _WORD.findall(fold(text))}
    return sum(t[:5] not in held for t in terms) / len(terms)
