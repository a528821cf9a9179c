"""Text helpers shared by chunking and answering: lexical folding and sentence spans."""
import re
import threading
import unicodedata
from functools import lru_cache

import pysbd

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?…:;\"'»”)\]]\s*$")
HEADING_WORDS = 12  # a line this short that ends no sentence is a title, not a statement
# Words too common to count as lexical evidence that a sentence answers a question.
_STOPWORDS = frozenset(
    """a about after all also an and are as at be been before by can cand care ce cel cea cele cei
    cine cu cum de despre did din do does dupa for from had has have how i in into is it its la le
    lui mai nu of on or pe pentru prin sa se si sunt the their this to was were what when where which
    who whom why with un una unei unui al ale ai au o""".split()
)


def fold(text: str) -> str:
    """Lower-case and strip accents, so ş/ș, ţ/ț and plain s/t compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def content_words(text: str) -> set[str]:
    """Folded words that carry meaning: numbers and words of three letters or more."""
    return {
        w for w in _WORD.findall(fold(text)) if w not in _STOPWORDS and (w.isdigit() or len(w) >= 3)
    }


_local = threading.local()


def _segmenter() -> pysbd.Segmenter:
    """One per thread: a segmenter keeps the text it is working on, so threads must not share one."""
    if not hasattr(_local, "segmenter"):
        _local.segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return _local.segmenter


@lru_cache(maxsize=8192)  # passages come back question after question, and pysbd is slow
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) character spans of the sentences in text, trailing spaces left out."""
    spans = []
    for sentence in _segmenter().segment(text):
        start, end = sentence.start, sentence.end
        while end > start and text[end - 1].isspace():
            end -= 1
        while start < end and text[start].isspace():
            start += 1
        if end > start:
            spans.append((start, end))
    return tuple(spans)


def ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text))


def is_heading(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a line of its own that ends no sentence: a title, never an answer."""
    line_ends = end == len(text) or text[end] == "\n"
    line_starts = start == 0 or text[start - 1] == "\n"
    span = text[start:end]
    return line_starts and line_ends and not ends_sentence(span) and len(span.split()) <= HEADING_WORDS
