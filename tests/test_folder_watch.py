"""`serve --watch`: files added, changed or removed in the documents folder are indexed within seconds, a file still
being copied in is not read half-written, and a file that cannot be read holds up no other."""
import hashlib
import time

from app.config import Settings
from app.folder_watch import FolderWatch
from app.pipeline import Pipeline


def wait_until(check, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def indexed(pipeline: Pipeline) -> dict:
    return {record.source: record for record in pipeline.documents()}


def test_files_added_changed_and_removed_in_the_folder_are_indexed(docs, tmp_path):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    watch = FolderWatch(pipeline, settle_s=1.0, poll_s=0.2).start()
    pool = docs / "pool.md"
    try:
        pool.write_text("# Pool\n\nThe town pool closes in August for repairs.", encoding="utf-8")
        wait_until(lambda: "pool.md" in indexed(pipeline))
        assert "August" in pipeline.ask("When does the town pool close for repairs?").text

        before = indexed(pipeline)["pool.md"].sha256
        pool.write_text("# Pool\n\nThe town pool closes in October for repairs.", encoding="utf-8")
        # (while a file is written again, it is not listed: only whole records are)
        wait_until(lambda: getattr(indexed(pipeline).get("pool.md"), "sha256", before) != before)
        assert "October" in pipeline.ask("When does the town pool close for repairs?").text

        pool.unlink()
        wait_until(lambda: "pool.md" not in indexed(pipeline))
        assert all(p.chunk.source != "pool.md" for p in pipeline.ask("When does the pool close?").passages)
    finally:
        watch.stop()


def test_a_file_still_being_copied_in_is_read_only_once_it_stops_changing(docs, tmp_path):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    watch = FolderWatch(pipeline, settle_s=1.0, poll_s=0.2).start()
    parts = [f"District {n} of Eastport used {1000 + 37 * n} cubic metres of water a day in 2025.\n\n" for n in range(12)]
    try:
        with open(docs / "districts.md", "w", encoding="utf-8") as copying:
            for part in parts:  # 3.6 s of copying, in pieces 0.3 s apart: longer than the settle time
                copying.write(part)
                copying.flush()
                assert "districts.md" not in indexed(pipeline)
                time.sleep(0.3)
        wait_until(lambda: "districts.md" in indexed(pipeline), 30)
        record = indexed(pipeline)["districts.md"]
        assert record.sha256 == hashlib.sha256((docs / "districts.md").read_bytes()).hexdigest()
        assert "1407" in pipeline.ask("How much water did District 11 of Eastport use a day?").text
    finally:
        watch.stop()


def test_a_file_that_cannot_be_read_holds_up_no_other(docs, tmp_path, capfd):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    watch = FolderWatch(pipeline, settle_s=0.5, poll_s=0.2).start()
    try:
        (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF")
        (docs / "hours.md").write_text("# Library\n\nThe library opens at 9:00 on weekdays.", encoding="utf-8")
        wait_until(lambda: "hours.md" in indexed(pipeline))
        assert "broken.pdf" not in indexed(pipeline)
    finally:
        watch.stop()
    said = capfd.readouterr().err
    assert "Watching" in said and "broken.pdf" in said and "Traceback" not in said
