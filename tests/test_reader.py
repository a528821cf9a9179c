"""The span reader: its ONNX graph computes the fitted model, and it finds the exact answer inside a sentence."""
import json

import numpy as np
import pytest

from app.answerers import reader
from app.answerers.extractive import shared_reader
from app.ui.chat import as_text, render_answer
from index import e5_convert
from index.text import sentence_spans
from tests.conftest import SENTENCE_2004


def test_the_reader_graph_computes_what_the_fitted_model_does():
    """The shipped layers loaded into transformers' BertForQuestionAnswering over the same e5 folder, in torch."""
    import torch
    from safetensors.numpy import load_file
    from transformers import BertForQuestionAnswering

    model = BertForQuestionAnswering.from_pretrained(str(e5_convert.prepared("q4"))).eval()
    fitted = {k: torch.tensor(v.astype(np.float32)) for k, v in load_file(str(reader.WEIGHTS_FILE)).items()}
    missing, unexpected = model.load_state_dict(fitted, strict=False)
    assert not unexpected and "qa_outputs.weight" not in missing
    meta = json.loads(reader.META_FILE.read_text(encoding="utf-8"))
    assert set(fitted) == reader.trained_names(model.config.num_hidden_layers, meta["frozen_layers"])

    read = shared_reader()
    [window] = read.windows("Which countries joined NATO in 2004?", [SENTENCE_2004])
    ids = np.array([window.ids])
    ours = read._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
    with torch.no_grad():
        out = model(input_ids=torch.tensor(ids))
    theirs = np.stack([out.start_logits[0].numpy(), out.end_logits[0].numpy()], axis=-1)
    # the lower layers run 4-bit with int8 activations, as the embedder does: close, not equal
    assert np.abs(ours - theirs).max() < 0.1 * np.abs(theirs).max()
    assert ours[:, 0].argmax() == theirs[:, 0].argmax() and ours[:, 1].argmax() == theirs[:, 1].argmax()


@pytest.mark.parametrize("question, expected", [
    ("In which year did Hungary, Poland and the Czech Republic join NATO?", "1999"),
    ("În ce an au aderat Ungaria, Polonia şi Cehia la NATO?", "1999"),
])
def test_the_reader_finds_the_exact_answer_in_a_sentence(question, expected):
    text = f"Rusia cere garanţii de securitate. {SENTENCE_2004} Albania şi Croaţia au urmat în 2009."
    sentences = list(sentence_spans(text))
    assert text[slice(*sentences[1])] == SENTENCE_2004
    [found] = shared_reader().read(question, [text], [sentences])
    best = max((s for s in found if s), key=lambda s: s.margin)
    assert text[best.start:best.end] == expected and best.margin > 0
    assert found.index(best) == 1  # in the sentence that holds it


@pytest.mark.xfail(strict=True, reason="the reader still takes the countries of 1999, named first in the sentence")
@pytest.mark.parametrize("question", ["Which countries joined NATO in 2004?", "Ce țări au aderat la NATO în 2004?"])
def test_the_headline_question_bolds_the_2004_list(seed_pipeline, question):
    """Not the countries of 1999, which the same sentence names first."""
    bold = seed_pipeline.ask(question).bold
    assert bold is not None and bold.confident
    assert bold.text.startswith("România") and bold.text.endswith("Slovenia")


def test_answers_carry_the_exact_answer_in_bold_inside_the_highlighted_quote(seed_pipeline):
    answer = seed_pipeline.ask("When did Albania and Croatia become NATO members?")
    span, [citation] = answer.bold, answer.citations
    assert span.text == "2009" and span.confident
    assert span.n == 1 and citation.passage.chunk.text[span.start:span.end] == span.text
    assert citation.quote_start <= span.start < span.end <= citation.quote_end  # inside the quoted sentence
    html = render_answer(answer)
    assert f"<b>{as_text(span.text)}</b>" in html.split("\n\n")[0]  # in the answer
    before = citation.passage.chunk.text[citation.quote_start:span.start]
    assert f"<mark>{as_text(before)}<b>{as_text(span.text)}</b>" in html  # and in its passage


def test_a_question_as_long_as_the_embedder_allows_is_still_read():
    question = "Ce ţări au aderat la NATO în 2004? " * 40  # about 480 tokens, under the embedder's 512
    [found] = shared_reader().read(question, [SENTENCE_2004], [[(0, len(SENTENCE_2004))]])
    assert found[0] is not None and SENTENCE_2004[found[0].start:found[0].end] in SENTENCE_2004
