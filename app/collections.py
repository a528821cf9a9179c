"""Named collections (knowledge bases): the default one (--docs, as always) and those in --collections-dir, each a
folder of its own documents with its own Chroma collection, in the same index and under the same writer lock.

A collection's folder is named after it; a hidden `.collection.json` in it holds the id its Chroma collection is
keyed by, so that a rename moves the folder and nothing in the index."""
import json
import re
import shutil
import threading
import uuid
from dataclasses import replace

from app.config import Settings
from app.errors import DocumentError
from app.folder_watch import FolderWatch
from app.pipeline import Pipeline

DEFAULT = "default"  # the name of the --docs collection, unless --collection names it
MARK = ".collection.json"
_NAME = re.compile(r"^[^\W_][\w .,()+-]{0,59}$")


def check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not _NAME.match(name) or name.endswith("."):
        raise DocumentError(f"'{name}' cannot name a collection: use up to 60 letters, digits, spaces and . , ( ) + - "
                            "_, starting with a letter or digit.")
    return name


def named_settings(settings: Settings, name: str) -> Settings | None:
    """The settings of the collection called name in settings.collections_dir, or None when there is none."""
    if not _NAME.match(name or ""):  # never a path: "../x" names no collection
        return None
    folder = settings.collections_dir / name
    try:
        kept = json.loads((folder / MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return replace(settings, docs=folder, collection=f"collection-{kept['id']}")


def create(settings: Settings, name: str) -> Settings:
    """Makes the folder of a new collection called name; its settings."""
    name = check_name(name)
    folder = settings.collections_dir / name
    if folder.exists():
        raise DocumentError(f"A collection named '{name}' exists already; choose another name.")
    folder.mkdir(parents=True)
    (folder / MARK).write_text(json.dumps({"id": uuid.uuid4().hex[:16]}), encoding="utf-8")
    return named_settings(settings, name)


class Collections:
    """The collections one server answers from, each opened (as a Pipeline sharing the default's models) on first
    use. With watch_settle, each collection's folder is watched (app.folder_watch) from when it is opened."""

    def __init__(self, default: Pipeline, watch_settle: float | None = None):
        self.default = default
        self.root = default.settings.collections_dir
        docs = default.settings.docs
        named = (docs / MARK).is_file() and docs.resolve().parent == self.root.resolve()  # serve --collection NAME
        self.default_name = docs.name if named else (default.settings.collection or DEFAULT)
        self._open: dict[str, Pipeline] = {}
        self._watches: dict[str, FolderWatch] = {}
        self._lock = threading.RLock()
        self._settle = watch_settle
        if watch_settle is not None:
            self._watches[self.default_name] = FolderWatch(default, watch_settle).start()

    def open_all(self) -> None:
        """Opens every collection, so that files dropped into any of their folders are indexed."""
        for name in self.names():
            self.get(name)

    def _close(self, name: str) -> None:
        self._open.pop(name, None)
        watch = self._watches.pop(name, None)
        if watch:
            watch.stop()

    def names(self) -> list[str]:
        """The default's name first, then the others by name."""
        found = []
        if self.root.is_dir():
            found = sorted(p.name for p in self.root.iterdir() if (p / MARK).is_file())
        return [self.default_name, *[name for name in found if name != self.default_name]]

    def get(self, name: str | None) -> Pipeline:
        """The collection of that name (the default for None or ""), or a DocumentError that lists them."""
        name = (name or "").strip()
        if not name or name == self.default_name:
            return self.default
        with self._lock:
            if name in self._open and (self.root / name / MARK).is_file():
                return self._open[name]
            settings = named_settings(self.default.settings, name)
            if settings is None:
                raise DocumentError(f"No collection is named '{name}'; the collections are "
                                    f"{', '.join(self.names())}.")
            pipeline = self._open[name] = Pipeline(settings, models=self.default)
            if self._settle is not None:
                self._watches[name] = FolderWatch(pipeline, self._settle).start()
        return pipeline

    def create(self, name: str) -> Pipeline:
        name = check_name(name)
        with self._lock:
            if name == self.default_name:
                raise DocumentError(f"A collection named '{name}' exists already; choose another name.")
            create(self.default.settings, name)
        return self.get(name)

    def rename(self, old: str, new: str) -> None:
        new = check_name(new)
        if old == self.default_name:
            raise DocumentError(f"'{old}' is the default collection (--docs); it keeps its name.")
        with self._lock:
            pipeline = self.get(old)  # it exists
            if new == self.default_name or (self.root / new).exists():
                raise DocumentError(f"A collection named '{new}' exists already; choose another name.")
            self._close(old)
            with pipeline.writing():
                (self.root / old).rename(self.root / new)
        self.get(new)

    def delete(self, name: str) -> int:
        """Removes the collection's documents and vectors, and nothing else; how many documents it held."""
        if name == self.default_name:
            raise DocumentError(f"'{name}' is the default collection (--docs); remove its documents instead.")
        with self._lock:
            pipeline = self.get(name)
            count = len(pipeline.documents())
            self._close(name)
            with pipeline.writing():
                pipeline.store.drop()
                shutil.rmtree(self.root / name)
        return count
