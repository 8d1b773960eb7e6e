"""The conformance suite every registered metric passes, plus the registry and input checks."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import mmdial_metrics
from mmdial_metrics import get_metric, list_metrics, register_metric
from mmdial_metrics.core import Metric, MetricResult

PREDS = ["the cat sat on the mat .", "hello there , how are you ?", "i do not know", "Grüße 👍"]
REFS = [["the cat is on the mat ."], ["hi , how are you ?", "hello , how are you doing ?"], ["no idea"], ["Grüße 👍"]]


def _required_options(name: str, request: pytest.FixtureRequest) -> dict:
    """Options without a default that a metric needs (word vectors for the embedding metrics)."""
    if name in ("embedding_average", "greedy_matching", "vector_extrema"):
        import numpy as np

        rng = np.random.default_rng(0)
        words = sorted({w for t in PREDS + [r for g in REFS for r in g] for w in t.split()})
        return {"vectors": {w: rng.normal(size=8) for w in words[::2]}}
    if name == "bertscore":
        return {"model": request.getfixturevalue("tiny_bert")}
    return {}


def _build(name: str, request: pytest.FixtureRequest) -> Metric:
    try:
        return get_metric(name, **_required_options(name, request))
    except ImportError as exc:  # an optional dependency (named in the message) is missing
        pytest.skip(str(exc))


@pytest.mark.parametrize("name", list_metrics())
def test_conformance(name, request):
    metric = _build(name, request)
    assert isinstance(metric, Metric)
    assert isinstance(metric.higher_is_better, bool)
    assert metric.reference, "every metric names the reference it reproduces"
    refs = REFS if metric.needs_references else None
    try:
        whole = metric.score(PREDS, refs)
    except ImportError as exc:
        pytest.skip(str(exc))
    assert isinstance(whole, MetricResult)
    assert math.isfinite(whole.score)
    assert whole.signature.startswith(f"name:{whole.name}|") and whole.signature.endswith("|version:0.1.0")
    # accumulator over two batches == functional over the corpus: bit-identical unless the metric declares
    # float32 model arithmetic (then within its declared relative tolerance, which must stay small)
    acc = _build(name, request)
    acc.update(PREDS[:2], refs[:2] if refs else None).update(PREDS[2:], refs[2:] if refs else None)
    assert 0.0 <= metric.rel_tolerance <= 1e-5
    if metric.rel_tolerance == 0.0:
        assert acc.compute().score == whole.score
    else:
        assert acc.compute().score == pytest.approx(whole.score, rel=metric.rel_tolerance, abs=0.0)
    assert len(acc) == len(PREDS)
    with pytest.raises(ValueError, match="before any update"):
        acc.reset().compute()
    # bad input gets clear errors
    with pytest.raises(TypeError):
        metric.score(None, refs)
    with pytest.raises(TypeError, match=r"predictions\[1\]"):
        metric.score(["a", 3], refs[:2] if refs else None)
    with pytest.raises(TypeError):
        metric.score("a single string", refs)
    if metric.needs_references:
        with pytest.raises(ValueError, match="reference entries"):
            metric.score(PREDS, REFS[:2])
        with pytest.raises(TypeError):
            metric.score(PREDS[:1], [None])
        with pytest.raises(ValueError, match="empty list"):
            metric.score(PREDS[:1], [[]])
    # determinism and JSON form
    assert metric.score(PREDS, refs).score == whole.score
    assert whole.to_dict()["signature"] == whole.signature


def test_unknown_metric_suggests():
    with pytest.raises(KeyError, match="did you mean 'rougeL'"):
        get_metric("rougel")


def test_register_metric():
    from mmdial_metrics.diversity import AverageLength

    register_metric("my_length", AverageLength, description="test")
    assert "my_length" in list_metrics()
    with pytest.raises(ValueError, match="already registered"):
        register_metric("my_length", AverageLength)
    with pytest.raises(TypeError):
        register_metric("bad", 3, overwrite=True)  # type: ignore[arg-type]


def test_lazy_attributes():
    assert mmdial_metrics.bleu(["a b c d"], [["a b c d"]]).score == pytest.approx(100.0)
    with pytest.raises(AttributeError):
        _ = mmdial_metrics.nothing_here


def test_import_is_fast_and_light():
    code = (
        "import time, sys; t = time.perf_counter(); import mmdial_metrics; d = time.perf_counter() - t; "
        "print(d, 'numpy' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1:] == ["False", "False"]  # nothing heavy is imported up front (time is reported, not asserted)
