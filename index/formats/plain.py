"""Plain text and Markdown: UTF-8 (a byte-order mark is fine), kept as written."""
from pathlib import PurePath

from index.errors import DocumentError
from index.formats import Extracted, clean


def decode(name: str, data: bytes) -> str:
    """UTF-8 text; a NUL byte means another encoding (UTF-16) or a binary file renamed."""
    try:
        if b"\x00" in data:
            at = data.index(b"\x00")
            raise UnicodeDecodeError("utf-8", data, at, at + 1, "NUL byte")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{name} is not a UTF-8 text file (byte {exc.start}: {exc.reason}). "
            "Convert it to UTF-8 text, or move it out of the documents folder."
        ) from None


def extract(name: str, data: bytes) -> Extracted:
    kind = "markdown" if PurePath(name).suffix.lower() == ".md" else "text"
    return Extracted(clean(decode(name, data)), kind)
