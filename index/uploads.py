"""Files added by users: safe names inside the documents folder, kept only once they are indexed."""
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w.\-+,() ]+")


def safe_name(name: str) -> str:
    """A plain file name to store an upload under: no folders, no control or look-alike characters.

    "../../etc/passwd" → "passwd", "C:\\Users\\a\\report.pdf" → "report.pdf", "ｒｅｐｏｒｔ．pdf" → "report.pdf".
    """
    name = unicodedata.normalize("NFKC", name or "")
    name = re.split(r"[/\\]", name)[-1]  # after NFKC, so full-width slashes split too
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))  # control, format, unassigned
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" ._")
    stem, dot, suffix = name.rpartition(".")
    if dot and len(name) > MAX_NAME_CHARS and len(suffix) < 10:  # shorten the stem, keep the type
        name = f"{stem[:MAX_NAME_CHARS - len(suffix) - 1].rstrip(' ._')}.{suffix}"
    return name[:MAX_NAME_CHARS] or "document"


@dataclass
class UploadReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # an earlier file of that name was replaced
    unchanged: list[str] = field(default_factory=list)  # the same content was already indexed
    refused: list[dict] = field(default_factory=list)  # {"name", "reason"}
    renamed: dict[str, str] = field(default_factory=dict)  # name as uploaded → name stored
    passages: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"added": self.added, "replaced": self.replaced, "unchanged": self.unchanged,
                "refused": self.refused, "renamed": self.renamed, "passages": self.passages,
                "seconds": round(self.seconds, 2)}

    def merged(self, other: "UploadReport") -> "UploadReport":
        """Both reports as one, as if their files had been added together."""
        return UploadReport(self.added + other.added, self.replaced + other.replaced,
                            self.unchanged + other.unchanged, self.refused + other.refused,
                            {**self.renamed, **other.renamed}, self.passages + other.passages,
                            self.seconds + other.seconds)

    def summary(self) -> str:
        parts = [f"{label}: {', '.join(names)}" for label, names in
                 (("Added", self.added), ("Replaced", self.replaced), ("Already indexed", self.unchanged))
                 if names]
        parts += [f"Stored {old!r} as {new!r}" for old, new in self.renamed.items()]
        parts += [f"Refused {r['name']}: {r['reason']}" for r in self.refused]
        if self.passages:
            parts.append(f"{self.passages} passages embedded in {self.seconds:.1f} s")
        return "\n".join(parts) or "Nothing was uploaded."


class Placed:
    """Files written into the documents folder, which can be put back as they were."""

    def __init__(self):
        self._before: dict[Path, bytes | None] = {}

    def write(self, path: Path, data: bytes) -> None:
        if path not in self._before:
            self._before[path] = path.read_bytes() if path.exists() else None
        _write_atomically(path, data)

    def undo(self) -> None:
        for path, data in self._before.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                _write_atomically(path, data)


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")  # hidden: the indexer never reads it
    partial.write_bytes(data)
    os.replace(partial, path)
