"""Compares OCR engines on scans the tests' way: pages printed by Chromium, drawn to images and stored as
image-only PDFs (clean, and degraded like a real scan), in English, Romanian and German. Reports each engine's
character error rate against the printed text and its seconds per page, measured in one run.

Needs the engines it compares against: pip install -r scripts/requirements-compare.txt
"""
import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pypdfium2 as pdfium  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from index.formats import ocr, pdf  # noqa: E402
from tests.documents import make_pdf, make_scanned_copy, page_html, paragraphs_html  # noqa: E402

GERMAN = """# Jahresbericht der Stadtwerke

Im Jahr 2025 haben die Stadtwerke 38 Kilometer Wasserleitungen erneuert. Die größte Baustelle lag in der
Südstadt, wo über 3.000 Häuser an die neue Hauptleitung angeschlossen wurden.

Während des heißen Sommers stieg der Verbrauch auf einen Höchstwert von 214.000 Kubikmetern am Tag. Die
Kläranlage Nord wurde im Oktober fertiggestellt und reinigt seitdem das Abwasser von rund 90.000 Einwohnern.

Für 2026 plant das Unternehmen, die Gebühren stabil zu halten und zwei weitere Brunnen zu bohren."""


def texts() -> dict[str, str]:
    """A page of text in each language: English and Romanian from the project's own documents."""
    seed = next((ROOT / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    romanian = "\n\n".join(p for p in seed.split("\n\n") if len(p) > 200)[:2400]
    report = (ROOT / "scripts" / "make_eval_documents.py").read_text(encoding="utf-8")
    english = report.split('REPORT = """', 1)[1].split("## ", 3)[1:3]
    english = "\n\n".join(p.strip() for p in "## ".join(english).split("\n\n")[1:] if p.strip())[:2400]
    return {"English": english, "Romanian": romanian, "German": GERMAN}


def flat(text: str) -> str:
    return " ".join(text.replace("|", " ").split())


def cer(found: str, reference: str) -> float:
    return Levenshtein.distance(flat(found), flat(reference)) / max(1, len(flat(reference)))


def fold(text: str) -> str:
    """Romanian's comma-below letters and the cedilla letters that fonts draw alike, as one."""
    return text.translate(str.maketrans("șțȘȚ", "şţŞŢ"))


def page_image(scan: Path):
    document = pdfium.PdfDocument(str(scan))
    try:
        return document[0].render(scale=ocr.DPI / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()


def engines() -> dict:
    found = {}
    if ocr.available():
        found["tesserocr (Tesseract 5 in-process, eng+ron+deu): chosen"] = lambda image, scan: pdf.extract(
            "scan.pdf", scan.read_bytes()).text
    try:
        import pytesseract

        languages = ocr.ENGINE.languages()[1]
        found["pytesseract (tesseract CLI, eng+ron+deu)"] = lambda image, scan: pytesseract.image_to_string(
            image, lang=languages)
    except (ImportError, TypeError):
        print("pytesseract: not installed", file=sys.stderr)
    try:
        from rapidocr_onnxruntime import RapidOCR

        rapid = RapidOCR()
        found["rapidocr-onnxruntime (PP-OCR models in the wheel)"] = lambda image, scan: " ".join(
            item[1] for item in (rapid(np.array(image.convert("RGB")))[0] or []))
    except ImportError:
        print("rapidocr-onnxruntime: not installed", file=sys.stderr)
    try:
        import easyocr

        reader = easyocr.Reader(["en", "ro", "de"], download_enabled=False)
        found["easyocr"] = lambda image, scan: " ".join(reader.readtext(np.array(image), detail=0))
    except Exception as exc:  # noqa: BLE001 - any failure to start is the finding
        print(f"easyocr: cannot run here ({type(exc).__name__}: {str(exc)[:200]})", file=sys.stderr)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per page (the median is reported)")
    args = parser.parse_args()
    candidates = engines()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = itertools.count()  # a page is never found read before: each run reads it by OCR
        pdf._ocr_file = lambda key, number: Path(tmp) / "ocr" / f"{next(fresh)}.json"
        cases = []
        for language, text in texts().items():
            printed = make_pdf(page_html(paragraphs_html(text)), Path(tmp) / f"{language}.pdf", header_footer=False)
            reference = pdf.extract("printed.pdf", printed.read_bytes()).text
            for degrade in (False, True):
                scan = make_scanned_copy(printed, Path(tmp) / f"{language}-{degrade}.pdf", pages=[0], degrade=degrade)
                cases.append((language, "degraded" if degrade else "clean", scan, page_image(scan), reference))
        for name, run in candidates.items():
            errors, folded, seconds = {}, {}, []
            for language, quality, scan, image, reference in cases:
                times = []
                for _ in range(args.repeat):
                    pdf._ocr_cache.clear()
                    started = time.perf_counter()
                    found = run(image, scan)
                    times.append(time.perf_counter() - started)
                seconds.append(statistics.median(times))
                errors[f"{language} {quality}"] = cer(found, reference)
                folded[f"{language} {quality}"] = cer(fold(found), fold(reference))
            rows.append((name, errors, folded, statistics.median(seconds)))
    header = list(rows[0][1]) if rows else []
    print("| engine | " + " | ".join(header) + " | s/page |")
    print("|---" * (len(header) + 2) + "|")
    for name, errors, folded, seconds in rows:
        cells = [f"{100 * errors[k]:.1f}%" + (f" ({100 * folded[k]:.1f}%)" if folded[k] != errors[k] else "")
                 for k in header]
        print(f"| {name} | " + " | ".join(cells) + f" | {seconds:.2f} |")
    print("\nCharacter error rate against the printed text (whitespace collapsed); in brackets, with ş/ș and ţ/ț "
          "taken as one letter.")


if __name__ == "__main__":
    main()
