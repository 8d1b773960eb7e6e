"""Captioner backends: the caption of each utterance's top-1 image feeds ``sent_sim`` and ``bleu``.

- ``pool-caption``: the pool's own captions (tuxpaint stamp names, dataset captions); no model.
- ``vision-encoder-decoder``: a transformers ``VisionEncoderDecoderModel`` (IMAD used
  ``nlpconnect/vit-gpt2-image-captioning``) with beam search, from a local directory or a built model.

Captions are memoized per pool row, so each image is captioned once per run.

Example:
    >>> from mmdial_augment.pool import ImagePool
    >>> pool = ImagePool(["a", "b"], ["a.png", "b.png"], ["/a.png", "/b.png"], ["a red apple", None], "demo")
    >>> cap = get_captioner("pool-caption")
    >>> cap.name, cap(pool, [0, 1, 0])
    ('pool-caption', ['a red apple', '', 'a red apple'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mmdial_augment.pool import ImagePool
from mmdial_augment.registry import Registry


class Captioner:
    """Base class: ``captioner(pool, rows) -> captions`` with a per-row memo."""

    name = "captioner"

    def __init__(self) -> None:
        self._memo: dict[tuple[int, str], str] = {}

    def __call__(self, pool: ImagePool, rows: Sequence[int]) -> list[str]:
        todo = sorted({r for r in rows if (id(pool), pool.image_ids[r]) not in self._memo})
        if todo:
            for r, c in zip(todo, self._caption_rows(pool, todo), strict=True):
                self._memo[(id(pool), pool.image_ids[r])] = c
        return [self._memo[(id(pool), pool.image_ids[r])] for r in rows]

    def _caption_rows(self, pool: ImagePool, rows: list[int]) -> list[str]:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """JSON-able description for outputs."""
        return {"captioner": self.name}


class PoolCaptioner(Captioner):
    """Use the pool's captions ('' where an image has none)."""

    name = "pool-caption"

    def _caption_rows(self, pool: ImagePool, rows: list[int]) -> list[str]:
        return [pool.caption(r) for r in rows]


class VisionEncoderDecoderCaptioner(Captioner):
    """Beam-search captions from a ``VisionEncoderDecoderModel``.

    Args:
        model: A local model directory, or a ``VisionEncoderDecoderModel`` instance.
        image_processor: Processor (loaded from ``model`` when it is a path).
        tokenizer: Tokenizer for decoding (loaded from ``model`` when it is a path).
        max_length: IMAD: 25.
        num_beams: IMAD: 10.
        batch_size: Images per ``generate`` call (IMAD: 16).
        device: torch device.
    """

    name = "vision-encoder-decoder"

    def __init__(
        self,
        model: Any = "nlpconnect/vit-gpt2-image-captioning",
        image_processor: Any = None,
        tokenizer: Any = None,
        *,
        max_length: int = 25,
        num_beams: int = 10,
        batch_size: int = 16,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        try:
            import transformers
        except ImportError as exc:
            raise ImportError('transformers is needed here: pip install "mmdial-augment[blip]"') from exc
        self.model_name = model if isinstance(model, str) else type(model).__name__
        if isinstance(model, str):
            model_obj = transformers.VisionEncoderDecoderModel.from_pretrained(model)
            image_processor = image_processor or transformers.AutoImageProcessor.from_pretrained(model)
            tokenizer = tokenizer or transformers.AutoTokenizer.from_pretrained(model)
        else:
            model_obj = model
        if image_processor is None or tokenizer is None:
            raise ValueError("vision-encoder-decoder: pass image_processor and tokenizer with a model object")
        self.model = model_obj.to(device).eval()
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.gen_kwargs = {"max_length": max_length, "num_beams": num_beams}
        self.batch_size = batch_size
        self.device = device

    def _caption_rows(self, pool: ImagePool, rows: list[int]) -> list[str]:
        import torch

        from mmdial_retrieval.images import load_rgb

        out: list[str] = []
        for i in range(0, len(rows), self.batch_size):
            images = [load_rgb(pool.paths[r]) for r in rows[i : i + self.batch_size]]
            pixel_values = self.image_processor(images=images, return_tensors="pt").pixel_values.to(self.device)
            with torch.no_grad():
                ids = self.model.generate(pixel_values, **self.gen_kwargs)
            out.extend(s.strip() for s in self.tokenizer.batch_decode(ids, skip_special_tokens=True))
        return out

    def info(self) -> dict[str, Any]:
        return {"captioner": self.name, "model": self.model_name, **self.gen_kwargs}


CAPTIONERS: Registry[Captioner] = Registry("captioner")
CAPTIONERS.register("pool-caption", PoolCaptioner, description="the pool's own captions (offline)")
CAPTIONERS.register(
    "vision-encoder-decoder",
    VisionEncoderDecoderCaptioner,
    description="transformers VisionEncoderDecoderModel, beam search (IMAD: vit-gpt2)",
)


def list_captioners() -> list[str]:
    """Registered captioner names."""
    return CAPTIONERS.names()


def get_captioner(name: str, **options: Any) -> Captioner:
    """Build the captioner ``name`` (KeyError with a hint when unknown)."""
    return CAPTIONERS.create(name, **options)


def register_captioner(name: str, factory: Any, *, description: str = "", replace: bool = False) -> None:
    """Register a captioner factory ``factory(**options) -> Captioner``."""
    CAPTIONERS.register(name, factory, description=description, replace=replace)
