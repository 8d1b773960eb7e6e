"""ImageNet-1k class names (from timm's bundled synset descriptions), split into synonyms.

Example:
    >>> names = imagenet_class_synonyms()  # doctest: +SKIP
    >>> names[285]  # doctest: +SKIP
    ['Egyptian cat']
"""

from __future__ import annotations

from functools import lru_cache

from mmdial_retrieval._extras import require


@lru_cache(maxsize=1)
def imagenet_class_synonyms() -> tuple[tuple[str, ...], ...]:
    """The 1000 classes in model output order, each as its tuple of synonyms (``("tabby", "tabby cat")``)."""
    data = require("timm.data", "offline")
    info = data.ImageNetInfo()
    out = []
    for i in range(info.num_classes()):
        desc = info.index_to_description(i)
        out.append(tuple(s.strip() for s in desc.split(",") if s.strip()))
    return tuple(out)
