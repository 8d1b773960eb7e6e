"""The augmented dataset: the input dialogues with replaced turns turned into image turns.

A replaced turn gets empty ``text`` and one :class:`~mmdial_data.ImageRef` (level ``replacement``, the VQA
score, the pool's caption); ``annotations.extra["imad"]`` keeps the original text and the decision's
features, so nothing is lost.

Example:
    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue("x/t/1", "x", "t", [Turn(0, "A", "a", "hi"), Turn(1, "B", "b", "my dog")])
    >>> rows = {"dialogue_id": ["x/t/1"], "turn_index": [1], "replaced": [True], "chosen_image_id": ["p:dog.png"],
    ...         "chosen_uri": ["dog.png"], "chosen_caption": ["Dog"], "chosen_score": [-1.5], "image_source": ["p"],
    ...         "utterance": ["my dog"], "image_score": [0.4], "max_entity_score": [0.5], "sent_sim": [0.3],
    ...         "bleu": [0.0], "probability": [None], "vqa_backend": ["lm-caption"]}
    >>> out = augment_dialogues([d], rows)[0].turns[1]
    >>> out.text, out.images[0].level, out.images[0].score, out.annotations.extra["imad"]["original_text"]
    ('', 'replacement', -1.5, 'my dog')
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from mmdial_data import Dialogue, ImageRef

_KEPT = ("image_score", "max_entity_score", "sent_sim", "bleu", "probability", "vqa_backend")


def augment_dialogues(dialogues: Iterable[Dialogue], rows: dict[str, list[Any]]) -> list[Dialogue]:
    """Copies of ``dialogues`` with the replaced utterances of ``rows`` (``features.parquet`` columns)."""
    chosen: dict[tuple[str, int], int] = {}
    for i, (did, t, rep) in enumerate(zip(rows["dialogue_id"], rows["turn_index"], rows["replaced"], strict=True)):
        if rep:
            chosen[(did, int(t))] = i
    out = []
    for d in dialogues:
        if not any((d.dialogue_id, t.turn_index) in chosen for t in d.turns):
            out.append(d)
            continue
        d = copy.deepcopy(d)
        for turn in d.turns:
            i = chosen.get((d.dialogue_id, turn.turn_index))
            if i is None:
                continue
            turn.images.append(
                ImageRef(
                    image_id=rows["chosen_image_id"][i],
                    uri=rows["chosen_uri"][i],
                    source=rows["image_source"][i],
                    caption=rows["chosen_caption"][i] or None,
                    level="replacement",
                    score=rows["chosen_score"][i],
                )
            )
            turn.annotations.extra["imad"] = {"original_text": turn.text, **{k: rows[k][i] for k in _KEPT if k in rows}}
            turn.text = ""
        out.append(d)
    return out
