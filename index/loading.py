"""Finds and reads the document files of a corpus folder."""
import hashlib
from dataclasses import dataclass
from pathlib import Path

from app.errors import DocumentError

SUPPORTED_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Document:
    source: str  # path relative to the corpus folder, with forward slashes
    text: str
    sha256: str


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
            (supported if path.suffix.lower() in SUPPORTED_SUFFIXES else unsupported).add(path)
    return sorted(supported), sorted(unsupported)


def source_name(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def load(root: Path, path: Path) -> Document:
    """Reads one UTF-8 text or Markdown file; anything else is a DocumentError naming the file."""
    data = path.read_bytes()
    name = source_name(root, path)
    try:
        if b"\x00" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\x00"), data.index(b"\x00") + 1, "NUL byte")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{path} is not a UTF-8 text file (byte {exc.start}: {exc.reason}). "
            "Convert it to UTF-8 text, or move it out of the documents folder; nothing was indexed."
        ) from None
    return Document(source=name, text=text, sha256=hashlib.sha256(data).hexdigest())
