"""Text helpers shared by chunking and answering: lexical folding and sentence spans."""
import re
import threading
import unicodedata
from functools import lru_cache

import pysbd

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?…:;\"'»”)\]]\s*$")
HEADING_WORDS = 12  # a line this short that ends no sentence is a title, not a statement
# A section number opening a line ("4.5.", "2.1", "IV."), which the sentence splitter may cut off as a sentence.
_SECTION_NUMBER = re.compile(r"(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.|[A-Z]\.)[ \t]+(?=\S)")
# What an interactive prompt leaves at the start of a line of code ("$ ", ">>> ", "... ", "In [3]: ").
_PROMPT = re.compile(r"(?:(?:>>>|\.\.\.|\$|>|In \[\d+\]:)(?:[ \t]+|$))+")
# Lines of code as they survive OCR, where indentation and fonts are gone: a prompt, an import, a definition,
# a block opener ending in ":", a short jump statement, an assignment, a bare call, code then a comment.
_CODE_LINES = [re.compile(p) for p in (
    r"^\s*(?:\d+\s+)?(?:>>>|\.\.\.|In \[\d+\]:)",  # a listing's line numbers may come first
    r"^\s*(?:\d+\s+)?(?:import [\w.]+(?:\s+as\s+\w+)?|from [\w.]+ import [\w, *()]+)\s*$",
    r"^\s*(?:\d+\s+)?(?:def|class)\s+\w+\s*[(:]",
    r"^\s*(?:\d+\s+)?(?:if|elif|while|for|with|try|else|except|finally)\b[^.!?]{0,60}:\s*$",
    r"^\s*(?:\d+\s+)?(?:return|raise|yield|pass|break|continue)\b(?:\s+[\w.()\[\]'\"]+){0,2}\s*$",
    r"^\s*(?:\d+\s+)?[a-z_][\w.\[\]'\"]*\s*(?:=|\+=|-=|\*=|:=)\s*\S",
    r"^\s*(?:\d+\s+)?[A-Za-z_][\w.]*\([^()]*\)\s*;?\s*$",
    r"\S[ \t]+(?:#|//)[ \t]+\S",
)]
_CODE_TOKENS = re.compile(r"[A-Za-z_][\w.]*\([^()]*\)|==|!=|<=|>=|\+=|-=|->|=>|:=|&&|\|\||[{};]|\w\s*=\s*[\w'\"\[({]")
# A table row as the formats write it under a header: "Quarter: Q3 | Revenue: 4.2 M".
_TABLE_ROW = re.compile(r"^[^|\n]+: [^|\n]*( \| [^|\n]+: [^|\n]*)+$")
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


@lru_cache(maxsize=2048)  # passages come back question after question, and pysbd is slow
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


def _line(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the whole line(s) holding text[start:end]."""
    return text.rfind("\n", 0, start) + 1, (text.find("\n", end) + 1 or len(text) + 1) - 1


def is_heading(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] lies in a line of its own that ends no sentence: a title, never an answer.

    The line counts whole, so a numbered heading ("4.5. pass Statements") that the sentence splitter cut
    after its number is a heading in both pieces.
    """
    line_start, line_end = _line(text, start, end)
    line = text[line_start:line_end].strip()
    if _TABLE_ROW.search(line):  # a table row that names its columns holds facts, like a sentence
        return False
    numbered = _SECTION_NUMBER.match(line)
    title = line[numbered.end():] if numbered else line
    return bool(title) and not ends_sentence(title) and len(title.split()) <= HEADING_WORDS \
        and (numbered is not None or (line_start == start or not text[line_start:start].strip())
             and not text[end:line_end].strip())


def is_code(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a line of code (a statement, a prompt, code with a comment) rather than prose.

    Prose that names code ("The pass statement does nothing.", "call print() to show it") stays prose: one code
    token in a sentence of words is not enough.
    """
    piece = text[start:end]
    if any(code.search(line) for line in piece.splitlines() for code in _CODE_LINES):
        return True
    words = _WORD.findall(piece)
    tokens = len(_CODE_TOKENS.findall(piece))
    return tokens >= 2 and tokens * 4 >= len(words)


def without_prompt(text: str, start: int, end: int) -> tuple[int, int]:
    """The span with an interactive prompt's marks (">>> ", "... ", "$ ") at its start left off."""
    found = _PROMPT.match(text, start, end)
    return (found.end(), end) if found else (start, end)


def answer_sentences(text: str) -> list[tuple[int, int]]:
    """The sentences of a passage that can answer: headings and lines of code left out, a leading prompt ("Q:")
    cut off. The extractive answerer scores these, and the index keeps their vectors."""
    kept = [without_prompt(text, s, e) for s, e in sentence_spans(text)
            if not is_heading(text, s, e) and not is_code(text, s, e)]
    return [(s, e) for s, e in kept if e > s]
