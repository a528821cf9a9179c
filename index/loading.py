"""Finds the document files of a corpus folder and reads each into text, by its format."""
import hashlib
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from index.errors import DocumentError
from index import formats, worker
from index.worker import ReadLimits

SUPPORTED_SUFFIXES = formats.SUPPORTED_SUFFIXES


@dataclass(frozen=True)
class Document:
    source: str  # path relative to the corpus folder, with forward slashes
    text: str  # the extracted text that passages and their offsets refer to
    sha256: str  # of the file's bytes
    kind: str = "text"  # the format: text, markdown, pdf, docx, html
    pages: tuple[int, ...] = ()  # offset in text where each page starts; empty when unpaginated
    url: str | None = None  # the address of a page added by URL, "" for a file; None: as its record says

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding the character at offset, or None for unpaginated formats."""
        return bisect_right(self.pages, offset) if self.pages else None


def find_files(root: Path, paths: list[Path] | None = None) -> tuple[list[Path], list[Path]]:
    """Supported files under root (or under the given paths inside it), and the unsupported ones."""
    root = root.resolve()
    targets = [root] if not paths else [p.resolve() for p in paths]
    supported, unsupported = set(), set()
    for target in targets:
        if not target.is_relative_to(root):
            raise DocumentError(
                f"{target} is not inside the documents folder {root}. "
                "Put it there, or point --docs at the folder that holds it."
            )
        if not target.exists():
            continue  # a deleted file: the indexer drops what it had of it
        candidates = [target] if target.is_file() else sorted(target.rglob("*"))
        for path in candidates:
            if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            (supported if formats.is_supported(path.name) else unsupported).add(path)
    return sorted(supported), sorted(unsupported)


def source_name(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def read(source: str, data: bytes, progress: formats.PageProgress | None = None,
         limits: ReadLimits = ReadLimits()) -> Document:
    """A document from a file's bytes, read in a process of its own under limits (see worker.extract); a file that
    cannot be read as its type is a DocumentError naming it. progress, when given, follows the pages read."""
    extracted = worker.extract(source, data, progress, limits)
    return Document(source=source, text=extracted.text, sha256=hashlib.sha256(data).hexdigest(),
                    kind=extracted.kind, pages=extracted.pages)


def load(root: Path, path: Path, progress: formats.PageProgress | None = None,
         limits: ReadLimits = ReadLimits()) -> Document:
    """Reads one file of the corpus folder."""
    return read(source_name(root, path), path.read_bytes(), progress, limits)
