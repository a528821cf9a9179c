"""An index as one file: the documents, their passages with vectors, the sentence vectors and the file records,
with the embedding model, chunking and format they were made with; loaded back without embedding anything."""
import hashlib
import io
import json
import os
import time
import zipfile
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from index.errors import DocumentError, StoreError
from index.store import FORMAT_VERSION, ChunkStore, FileRecord, Rows, Stored, read_differently_since

ARCHIVE_VERSION = 1


@dataclass
class ArchiveReport:
    path: Path
    documents: int
    passages: int
    sentences: int
    seconds: float
    notes: list[str] = field(default_factory=list)  # what else the archive carried ("3 conversations")

    def summary(self, done: str) -> str:
        size = self.path.stat().st_size / 2**20
        also = "".join(f", {note}" for note in self.notes)
        return (f"{done} {self.path} ({size:.1f} MB): {self.documents} documents, {self.passages} passages, "
                f"{self.sentences} sentence vectors{also} in {self.seconds:.1f} s; nothing was embedded.")


def export_index(store: ChunkStore, docs: Path, out: Path, extra: dict[str, bytes] | None = None) -> ArchiveReport:
    """Writes the store's complete files, and the documents they were read from, to the archive out (replaced
    whole once written, never left half-written); extra holds further members by name, for `member` to read."""
    started, stored = time.perf_counter(), store.dump()
    files = {}
    for record in stored.records:
        path = docs / record.source
        data = path.read_bytes() if path.is_file() else None
        if data is None or hashlib.sha256(data).hexdigest() != record.sha256:
            raise DocumentError(f"{record.source} in {docs} is not the file that was indexed (it changed, or is "
                                "gone). Run `python -m app index` first, so that the index matches the folder.")
        files[record.source] = data
    manifest = {"archive": ARCHIVE_VERSION, **store.info, "engine": store.engine,
                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "documents": len(stored.records), "passages": len(stored.passages.ids),
                "sentences": len(stored.sentences.ids)}
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=1))
            archive.writestr("records.json", json.dumps([asdict(r) for r in stored.records], ensure_ascii=False))
            for name, rows in (("passages", stored.passages), ("sentences", stored.sentences)):
                archive.writestr(f"{name}.json", json.dumps({"ids": rows.ids, "metadatas": rows.metadatas,
                                                             "texts": rows.texts}, ensure_ascii=False))
                with archive.open(f"{name}.npy", "w") as member:
                    np.save(member, rows.vectors)
            for source, data in files.items():
                archive.writestr(f"documents/{source}", data)
            for name, data in (extra or {}).items():
                archive.writestr(f"extra/{name}", data)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"Cannot write {out}: {exc}. Choose another place, or free some space.") from None
    return ArchiveReport(out, len(stored.records), len(stored.passages.ids), len(stored.sentences.ids),
                         time.perf_counter() - started)


def import_index(store: ChunkStore, docs: Path, path: Path) -> ArchiveReport:
    """Loads an archive into an empty store, and its documents into the documents folder, embedding nothing; refused
    with the reason, before anything is written, when its model, chunking or format differ from the store's."""
    started = time.perf_counter()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DocumentError(f"{path} is not an index archive ({exc}). Make one with `python -m app export FILE`."
                            ) from None
    with archive:
        manifest = _manifest(archive, path)
        _check_fits(manifest, store, path)
        changed = read_differently_since(manifest["format"])  # an earlier release's files of these kinds are read again
        records = [FileRecord.read(r) for r in json.loads(archive.read("records.json"))]
        stored = Stored([replace(r, reread=r.reread or r.kind in changed) for r in records],
                        _read_rows(archive, "passages"), _read_rows(archive, "sentences"))
        if store.files():
            raise StoreError(f"The index at {store.location} already holds documents; import into an empty one "
                             "(a new --index-dir, or another --collection on a Chroma server).")
        files = {record.source: archive.read(f"documents/{record.source}") for record in stored.records}
        targets = {source: _inside(docs, source) for source in files}
        for source, target in targets.items():
            if target.exists() and target.read_bytes() != files[source]:
                raise DocumentError(f"{target} exists and differs from the {source} in {path}. Move it away, or "
                                    "import into another --docs folder.")
    written = []
    try:
        for source, target in targets.items():
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(files[source])
                written.append(target)
        store.load(stored)
    except BaseException:
        for target in written:
            target.unlink(missing_ok=True)
        raise
    return ArchiveReport(path, len(stored.records), len(stored.passages.ids), len(stored.sentences.ids),
                         time.perf_counter() - started)


def member(path: Path, name: str) -> bytes | None:
    """A member that export_index wrote from its extra, or None when the archive has none of that name."""
    with zipfile.ZipFile(path) as archive:
        try:
            return archive.read(f"extra/{name}")
        except KeyError:
            return None


def _manifest(archive: zipfile.ZipFile, path: Path) -> dict:
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except (KeyError, ValueError):
        raise DocumentError(f"{path} is not an index archive (it has no manifest). Make one with "
                            "`python -m app export FILE`.") from None
    if manifest.get("archive") != ARCHIVE_VERSION:
        raise DocumentError(f"{path} is an index archive of version {manifest.get('archive')}; this release reads "
                            f"version {ARCHIVE_VERSION}. Import it with the release that wrote it.")
    return manifest


def _check_fits(manifest: dict, store: ChunkStore, path: Path) -> None:
    """Refuses an archive whose vectors or passages this store's configuration would not reproduce."""
    if manifest["model_id"] != store.info["model_id"]:
        raise DocumentError(f"{path} was embedded with {manifest['model_id']}; this index uses "
                            f"{store.info['model_id']}. Import it with the same model (--embeddings), or add the "
                            "documents and index them again.")
    if manifest["chunking"] != store.info["chunking"]:
        raise DocumentError(f"{path} was split into passages with {manifest['chunking']}; this index uses "
                            f"{store.info['chunking']}. Import it with the same --chunk-tokens.")
    if manifest["format"] > FORMAT_VERSION:
        raise DocumentError(f"{path} was written by a newer release (index format {manifest['format']}; this one "
                            f"reads up to {FORMAT_VERSION}). Upgrade the app to import it.")


def _read_rows(archive: zipfile.ZipFile, name: str) -> Rows:
    listed = json.loads(archive.read(f"{name}.json"))
    vectors = np.load(io.BytesIO(archive.read(f"{name}.npy")), allow_pickle=False)
    return Rows(listed["ids"], listed["metadatas"], vectors, listed["texts"])


def _inside(docs: Path, source: str) -> Path:
    target = (docs / source).resolve()
    if not target.is_relative_to(docs.resolve()) or not source:
        raise DocumentError(f"The archive names a document outside the documents folder ({source!r}); it was not "
                            "imported.")
    return target
