"""Scanned pages read by Tesseract (the engine ships in the tesserocr wheel; its language data comes from the
system): the words of a page image and where they lie, grouped into lines in reading order."""
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

LANGUAGES = ("eng", "ron", "deu")  # read together: English, Romanian (ş, ţ, ă, î, â) and German
DPI = 300  # pages are drawn at the resolution Tesseract is trained for
# Where operating systems put Tesseract's language data (.traineddata files)
_TESSDATA = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata", "/usr/share/tessdata",
             "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata", "/usr/local/share/tesseract-ocr/tessdata")
HOW_TO_ENABLE = ("install Tesseract's language data (Debian, Ubuntu: `apt-get install tesseract-ocr-eng "
                 "tesseract-ocr-ron tesseract-ocr-deu`; macOS: `brew install tesseract-lang`), or set "
                 "TESSDATA_PREFIX to a folder of .traineddata files")


@dataclass(frozen=True)
class Word:
    """A recognised word and its box, in pixels of the page image from its top left corner."""

    text: str
    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True)
class OcrLine:
    words: tuple[Word, ...]
    baseline: int  # pixels from the top


class _Engine:
    """One Tesseract instance, loaded at first use and shared (it reads one image at a time)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._api = None
        self._found: tuple[str, str] | None = None  # (tessdata folder, "eng+ron+deu") once looked up

    def languages(self) -> tuple[str, str] | None:
        """The language data folder and the languages of LANGUAGES it holds, or None when OCR cannot run."""
        if self._found is None:
            self._found = ("", "")
            try:
                import tesserocr
            except ImportError:
                return None
            folders = [os.environ.get("TESSDATA_PREFIX", ""), *_TESSDATA]
            for folder in filter(None, folders):
                if not Path(folder).is_dir():
                    continue
                _, installed = tesserocr.get_languages(str(Path(folder)) + "/")
                found = [lang for lang in LANGUAGES if lang in installed]
                if found:
                    self._found = (str(Path(folder)) + "/", "+".join(found))
                    break
        return self._found if self._found[1] else None

    def read(self, image: Image.Image) -> list[OcrLine]:
        import tesserocr
        from tesserocr import RIL

        found = self.languages()
        if found is None:
            raise RuntimeError(f"OCR is not available: {HOW_TO_ENABLE}")
        with self._lock:
            if self._api is None:
                self._api = tesserocr.PyTessBaseAPI(path=found[0], lang=found[1], psm=tesserocr.PSM.AUTO)
            api = self._api
            api.SetImage(image)
            api.Recognize()
            lines: list[OcrLine] = []
            words: list[Word] = []
            baseline = 0
            iterator = api.GetIterator()
            level = RIL.WORD
            for item in tesserocr.iterate_level(iterator, level):
                if item.Empty(level):
                    continue
                if item.IsAtBeginningOf(RIL.TEXTLINE) and words:
                    lines.append(OcrLine(tuple(words), baseline))
                    words = []
                if item.IsAtBeginningOf(RIL.TEXTLINE):
                    found_baseline = item.Baseline(RIL.TEXTLINE)
                    box = item.BoundingBox(RIL.TEXTLINE)
                    baseline = max(found_baseline[0][1], found_baseline[1][1]) if found_baseline else box[3]
                text = (item.GetUTF8Text(level) or "").strip()
                box = item.BoundingBox(level)
                if text and box:
                    words.append(Word(text, *box))
            if words:
                lines.append(OcrLine(tuple(words), baseline))
            api.Clear()
        return lines


ENGINE = _Engine()


def available() -> bool:
    return ENGINE.languages() is not None


def read(image: Image.Image) -> list[OcrLine]:
    """The page image's lines of words, in reading order (columns one after the other)."""
    return ENGINE.read(image.convert("L"))
