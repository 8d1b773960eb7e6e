"""BERTScore (Zhang et al. 2020) with any local transformers encoder, as the ``bert-score`` package computes it.

Per item: token embeddings of layer ``num_layers`` (default: the last) of the hypothesis and the reference,
L2-normalized; precision = weighted mean over hypothesis tokens of the best cosine with a reference token,
recall the other way; F = 2PR/(P+R) (0 when undefined). Weights are 1 (``idf=False``) or the idf of the
token over the references, ``log((N+1)/(df+1))``; [CLS]/[SEP] weigh 0. Text is encoded like
``bert_score.utils.sent_encode`` (stripped, special tokens, truncated to the model's maximum length; an
empty text is [CLS][SEP] and scores 0). With several references P, R and F are each the max over them.
No baseline rescaling. Difference: bert-score pads each batch of pairs and its masked similarity matrix
lets a padded 0 win the max when every cosine of a token is negative; here pairs are unpadded (the same as
bert-score with ``batch_size=1``).

Needs ``pip install "mmdial-metrics[bertscore]"`` (torch, transformers); a model is a local folder or a
hub name available offline.

Example:
    >>> BERTScore(model="path/to/model", num_layers=2).signature(1)
    'name:bertscore|nrefs:1|model:model|layer:2|idf:no|rescale:no|version:0.1.0'
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdial_metrics.core import Metric, MetricResult

_HINT = 'BERTScore needs torch and transformers: pip install "mmdial-metrics[bertscore]"'


class BERTScore(Metric):
    """BERTScore F1 (mean over items); precision and recall in ``details``; per-item F as item scores.

    Args:
        model: A local model folder / hub name, or a loaded transformers model.
        tokenizer: A tokenizer (default: ``AutoTokenizer.from_pretrained(model, use_fast=use_fast)``).
        num_layers: Use the output of this layer (bert-score's ``num_layers``); default the last.
        idf: Weight tokens by their idf over the references.
        batch_size: Texts per forward pass.
        device: torch device (default cpu).
        use_fast: Fast tokenizer (bert-score uses the slow one).
    """

    name: ClassVar[str] = "bertscore"
    citation: ClassVar[str] = "Zhang et al. 2020"
    reference: ClassVar[str] = "bert_score.score (P/R/F, idf on/off, no baseline rescaling)"
    #: float32 BERT forward passes: another batching pads to other lengths, so the sums run in another order.
    #: Scores are cosines near 1; 1e-5 relative is about 170 float32 ulps (see mmdial_data.testing).
    rel_tolerance: ClassVar[float] = 1e-5

    def __init__(
        self,
        *,
        model: Any = None,
        tokenizer: Any = None,
        num_layers: int | None = None,
        idf: bool = False,
        batch_size: int = 64,
        device: str = "cpu",
        use_fast: bool = False,
    ) -> None:
        super().__init__()
        if model is None:
            raise TypeError("bertscore: model is required (a local transformers model folder or a loaded model)")
        if num_layers is not None and (not isinstance(num_layers, int) or num_layers < 0):
            raise ValueError(f"bertscore: num_layers must be a non-negative int, got {num_layers!r}")
        self.model_arg, self.tokenizer_arg = model, tokenizer
        self.num_layers, self.idf, self.batch_size, self.device, self.use_fast = (
            num_layers,
            bool(idf),
            batch_size,
            device,
            use_fast,
        )
        self._loaded: tuple[Any, Any] | None = None

    def signature_info(self) -> dict[str, Any]:
        m = self.model_arg
        label = (
            Path(os.fspath(m)).name
            if isinstance(m, (str, os.PathLike))
            else getattr(getattr(m, "config", None), "_name_or_path", type(m).__name__)
        )
        return {
            "model": label or "custom",
            "layer": "last" if self.num_layers is None else self.num_layers,
            "idf": self.idf,
            "rescale": False,
        }

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            try:
                import torch  # noqa: F401
                from transformers import AutoModel, AutoTokenizer
            except ImportError as exc:
                raise ImportError(_HINT) from exc
            model = self.model_arg
            if isinstance(model, (str, os.PathLike)):
                model = AutoModel.from_pretrained(os.fspath(model))
            tok = self.tokenizer_arg
            if tok is None:
                if not isinstance(self.model_arg, (str, os.PathLike)):
                    raise TypeError("bertscore: pass tokenizer= with a loaded model")
                tok = AutoTokenizer.from_pretrained(os.fspath(self.model_arg), use_fast=self.use_fast)
            model.eval().to(self.device)
            self._loaded = (model, tok)
        return self._loaded

    def _encode_ids(self, tok: Any, text: str) -> list[int]:
        text = text.strip()
        if not text:  # bert-score: build_inputs_with_special_tokens([]) (gone from transformers 5 tokenizers)
            build = getattr(tok, "build_inputs_with_special_tokens", None)
            return list(build([])) if build is not None else list(tok("", add_special_tokens=True)["input_ids"])
        return list(tok.encode(text, add_special_tokens=True, max_length=tok.model_max_length, truncation=True))

    def _embed(self, model: Any, tok: Any, ids: list[list[int]]) -> list[np.ndarray]:
        import torch

        out: list[np.ndarray | None] = [None] * len(ids)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(ids[i]) for i in idx)
            x = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                x[row, : len(ids[i])] = torch.tensor(ids[i])
                mask[row, : len(ids[i])] = 1
            with torch.no_grad():
                res = model(
                    x.to(self.device),
                    attention_mask=mask.to(self.device),
                    output_hidden_states=self.num_layers is not None,
                )
            emb = res[0] if self.num_layers is None else res.hidden_states[self.num_layers]
            emb = emb / torch.norm(emb, dim=-1, keepdim=True)
            for row, i in enumerate(idx):
                out[i] = emb[row, : len(ids[i])].float().cpu().numpy()
        return out  # type: ignore[return-value]

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> np.ndarray:
        assert references is not None
        model, tok = self._load()
        flat_refs = [r for g in references for r in g]
        texts = sorted(set(predictions) | set(flat_refs))
        ids = {t: self._encode_ids(tok, t) for t in texts}
        emb = dict(zip(texts, self._embed(model, tok, [ids[t] for t in texts]), strict=True))
        if self.idf:
            df = Counter(i for r in flat_refs for i in set(ids[r]))
            n_docs = len(flat_refs)
            default = math.log((n_docs + 1) / 1)
            idf = {i: math.log((n_docs + 1) / (c + 1)) for i, c in df.items()}
        special = {tok.sep_token_id, tok.cls_token_id}

        def weights(t: str) -> np.ndarray:
            w = np.array(
                [0.0 if i in special else (idf.get(i, default) if self.idf else 1.0) for i in ids[t]], dtype=np.float32
            )
            s = w.sum()
            return w / s if s else w

        out = np.zeros((len(predictions), 3))
        for k, (pred, group) in enumerate(zip(predictions, references, strict=True)):
            rows = []
            for ref in group:
                if len(ids[pred]) <= 2 or len(ids[ref]) <= 2:  # empty text: bert-score sets 0
                    rows.append((0.0, 0.0, 0.0))
                    continue
                sim = emb[pred] @ emb[ref].T
                p = float((sim.max(axis=1) * weights(pred)).sum())
                r = float((sim.max(axis=0) * weights(ref)).sum())
                f = 2 * p * r / (p + r) if (p + r) != 0 else 0.0
                rows.append((p, r, f if not math.isnan(f) else 0.0))
            out[k] = np.max(np.asarray(rows), axis=0)
        return out

    def _reduce(self, stats: np.ndarray) -> tuple[float, dict[str, Any], list[float] | None]:
        p, r, f = stats.mean(axis=0)
        details = {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "item_precision": stats[:, 0].tolist(),
            "item_recall": stats[:, 1].tolist(),
        }
        return float(f), details, stats[:, 2].tolist()


def bertscore(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """BERTScore; options as :class:`BERTScore` (``model=`` required)."""
    return BERTScore(**options).score(predictions, references)
