import re

from index.text import answer_sentences, content_words, fold, is_code, is_heading, sentence_spans, without_prompt


def test_fold_treats_cedilla_comma_below_and_plain_letters_alike():
    assert fold("Ţară şi ţară") == fold("Țară și țară") == fold("Tara si tara") == "tara si tara"


def test_content_words_keep_numbers_and_names_and_drop_function_words():
    assert content_words("Which countries joined NATO in 2004?") == {"countries", "joined", "nato", "2004"}
    assert content_words("Ce țări au aderat la NATO în 2004?") == content_words("Ce tari au aderat la NATO in 2004?")


def test_sentence_spans_point_at_each_sentence():
    text = "Albania a aderat în 2009.  Muntenegru în 2017! Apoi? "
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Albania a aderat în 2009.", "Muntenegru în 2017!", "Apoi?"]


def test_numbered_headings_are_headings_even_when_the_splitter_cuts_their_number_off():
    text = ("Intro text here.\n4.5. pass Statements\nThe pass statement does nothing.\n2.1 Results\n"
            "IV. Conclusions\n1. Install the package with pip before you start.\n")
    pieces = {text[s:e]: is_heading(text, s, e) for s, e in sentence_spans(text)}
    assert {piece for piece, heading in pieces.items() if heading} == {
        "4.5.", "pass Statements", "2.1 Results", "IV.", "Conclusions"}
    assert not pieces["The pass statement does nothing."]
    assert not pieces["1. Install the package with pip before you start."]  # a numbered sentence stays one


def test_prompt_marks_are_left_off_the_start_of_a_sentence():
    text = ">>> print('hi')\n... x = 1\n$ pip install pypdf\nIn [3]: a.sum()\n> a quoted line"
    starts = [m.start() for m in re.finditer(r"^", text, re.MULTILINE)]
    ends = [text.find("\n", s) if "\n" in text[s:] else len(text) for s in starts]
    assert [text[slice(*without_prompt(text, s, e))] for s, e in zip(starts, ends)] == [
        "print('hi')", "x = 1", "pip install pypdf", "a.sum()", "a quoted line"]


def test_lines_of_code_never_answer_even_as_ocr_leaves_them():
    """OCR keeps neither the indentation nor the monospace font of a code box: the lines must tell themselves."""
    code = ["pass # Busy-wait for keyboard interrupt (Ctrl+C)", "while True:", "for i in range(10):", "else:",
            "x = compute(a, b)", "print('hi')", "a.sum()", "return result", "import numpy as np",
            "from pathlib import Path", "def read(path):", "class Reader:", ">>> 2 + 2", "... pass",
            "if x == 1: y = f(x)", "total += price // count"]
    prose = ["The pass statement does nothing.", "Call print() to show the value.", "Total = 45 members",
             "Romania joined NATO in 2004 (with Bulgaria).", "If the file is missing: stop.",
             "For example, in Python you write x = 1.", "Importul de gaze a crescut.", "Try: the first test.",
             "From 1999 on, the alliance grew.", "Class sizes fell; schools hired more teachers.",
             "they had to\nreturn to Paris, where they", "the soldiers\nfor the people in the city"]
    assert [c for c in code if not is_code(c, 0, len(c))] == []
    assert [p for p in prose if is_code(p, 0, len(p))] == []
    scanned = ("The pass statement does nothing. It can be used when a statement is required.\n"
               "while True:\npass # Busy-wait for keyboard interrupt (Ctrl+C)\n")
    assert [scanned[s:e] for s, e in answer_sentences(scanned)] == [
        "The pass statement does nothing.", "It can be used when a statement is required."]
