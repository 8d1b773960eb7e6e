"""BERTScore against the bert-score package on the same tiny random BERT (a real BertModel, saved locally)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mmdial_data.testing import FLOAT32_UNIT_ATOL

torch = pytest.importorskip("torch", reason='BERTScore needs torch: pip install "mmdial-metrics[bertscore]"')
transformers = pytest.importorskip("transformers", reason='needs transformers: pip install "mmdial-metrics[bertscore]"')


def _reference(hyps, refs, folder, **kw):
    import bert_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f = bert_score.score(hyps, refs, model_type=str(folder), device="cpu", **kw)
    return p.numpy(), r.numpy(), f.numpy()


@pytest.mark.parametrize("idf", [False, True])
def test_parity_with_bert_score(real_pairs, tiny_bert, idf):
    from mmdial_metrics.bertscore import bertscore

    hyps, refs = real_pairs
    keep = [i for i in range(150) if hyps[i].strip() and all(r.strip() for r in refs[i])]
    hyps, refs = [hyps[i] for i in keep], [refs[i] for i in keep]
    # batch_size=1: bert-score's batch padding can let a padded 0 beat all-negative cosines (see module doc)
    p, r, f = _reference(hyps, refs, tiny_bert, num_layers=2, idf=idf, batch_size=1)
    ours = bertscore(hyps, refs, model=tiny_bert, num_layers=2, idf=idf)
    np.testing.assert_allclose(ours.item_scores, f, rtol=0, atol=FLOAT32_UNIT_ATOL)
    np.testing.assert_allclose(ours.details["item_precision"], p, rtol=0, atol=FLOAT32_UNIT_ATOL)
    np.testing.assert_allclose(ours.details["item_recall"], r, rtol=0, atol=FLOAT32_UNIT_ATOL)
    assert ours.score == pytest.approx(float(f.mean()), abs=FLOAT32_UNIT_ATOL)
    idf_text = "yes" if idf else "no"
    assert ours.signature.startswith(f"name:bertscore|nrefs:var|model:{tiny_bert.name}|layer:2|idf:{idf_text}")


def test_last_layer_and_empty(tiny_bert):
    from mmdial_metrics.bertscore import BERTScore, bertscore

    hyps, refs = ["the cat sat", "hello there friend"], [["a cat sat down"], ["hello"]]
    _, _, f = _reference(hyps, refs, tiny_bert, num_layers=3, batch_size=1)
    np.testing.assert_allclose(bertscore(hyps, refs, model=tiny_bert).item_scores, f, rtol=0, atol=FLOAT32_UNIT_ATOL)
    empty = bertscore(["", "the cat"], [["the cat"], [" "]], model=tiny_bert)
    assert empty.item_scores == [0.0, 0.0]
    with pytest.raises(TypeError, match="model is required"):
        BERTScore()
