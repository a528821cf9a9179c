from index.text import content_words, fold, sentence_spans


def test_fold_treats_cedilla_comma_below_and_plain_letters_alike():
    assert fold("Ţară şi ţară") == fold("Țară și țară") == fold("Tara si tara") == "tara si tara"


def test_content_words_keep_numbers_and_names_and_drop_function_words():
    assert content_words("Which countries joined NATO in 2004?") == {"countries", "joined", "nato", "2004"}
    assert content_words("Ce țări au aderat la NATO în 2004?") == content_words("Ce tari au aderat la NATO in 2004?")


def test_sentence_spans_point_at_each_sentence():
    text = "Albania a aderat în 2009.  Muntenegru în 2017! Apoi? "
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Albania a aderat în 2009.", "Muntenegru în 2017!", "Apoi?"]
