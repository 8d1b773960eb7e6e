from __future__ import annotations

from collections.abc import Sequence

from mmdial_data import Dialogue, ImageRef, Turn, read_source
from mmdial_data.testing import demo_dir
from mmdial_fusion.knowledge import KnowledgeConfig, RetrievedImage, build_samples
from mmdial_fusion.samples import read_samples, write_samples


class QueryEchoRetriever:
    """Returns images whose ids name the query, so a test can see which text an image came from."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def __call__(self, queries: Sequence[str], k: int) -> list[list[RetrievedImage]]:
        self.queries += list(queries)
        return [[RetrievedImage(f"q:{q}:{j}", 1.0 - j / 10, caption=f"about {q}") for j in range(k)] for q in queries]


def _words(text: str) -> list[str]:
    return [w for w in text.lower().split() if len(w) > 3]


def _dialogue(split: str = "train") -> Dialogue:
    texts = [
        "I love my black cat",
        "Dogs are better pets",
        "My parrot can talk",
        "Bananas taste great",
        "Pizza with pineapple please",
    ]
    turns = [
        Turn(
            i,
            "AB"[i % 2],
            "user" if i % 2 == 0 else "system",
            t,
            images=[
                ImageRef(f"att{i}", f"{i}.png", "demo", caption=f"photo {i}", level="turn"),
                ImageRef(f"ent{i}", f"e{i}.png", "demo", level="entity", entity=_words(t)[0]),
            ],
        )
        for i, t in enumerate(texts)
    ]
    return Dialogue(f"demo/{split}/1", "demo", split, turns)


def test_no_response_turn_image_enters_a_sample() -> None:
    dialogue = _dialogue()
    retriever = QueryEchoRetriever()
    samples = list(
        build_samples(
            [dialogue],
            retriever=retriever,
            entity_extractor=_words,
            config=KnowledgeConfig(max_context_turns=2, turn_images_per_turn=2),
        )
    )
    assert [s.response_index for s in samples] == [1, 2, 3, 4]
    for s in samples:
        response = dialogue.turns[s.response_index]
        ids = {k.image_id for k in s.turn_images + s.entity_images}
        assert not ids & {img.image_id for img in response.images}
        assert not any(i.startswith(f"q:{response.text}:") for i in ids)
        response_words = set(_words(response.text)) - {w for t in s.context for w in _words(t)}
        assert not any(i.startswith(f"q:{w}:") for w in response_words for i in ids)
        assert all(
            k.turn_index in s.context_turns and k.turn_index < s.response_index for k in s.turn_images + s.entity_images
        )
        assert all(k.entity is not None and any(k.entity in _words(t) for t in s.context) for k in s.entity_images)
        assert s.response not in s.context


def test_turn_and_entity_images_follow_the_context_and_budgets() -> None:
    samples = list(
        build_samples(
            [_dialogue()],
            retriever=QueryEchoRetriever(),
            entity_extractor=_words,
            config=KnowledgeConfig(max_context_turns=3, max_turn_images=5, max_entity_images=4),
        )
    )
    last = samples[-1]
    assert last.context_turns == [1, 2, 3]
    # budget 5 over three turns with 2 images each (attached + retrieved): newest turns first, then turn order
    assert [k.image_id for k in last.turn_images] == [
        "att1",
        "att2",
        "q:My parrot can talk:0",
        "att3",
        "q:Bananas taste great:0",
    ]
    assert [k.image_id for k in last.entity_images][:3] == ["ent1", "ent2", "ent3"]
    assert len(last.entity_images) == 4 and last.entity_images[3].entity == "dogs"


def test_only_attached_images_without_retriever_and_last_window_for_test_split() -> None:
    samples = list(build_samples([_dialogue("test")]))
    assert len(samples) == 1 and samples[0].response_index == 4
    assert {k.image_id for k in samples[0].turn_images} == {"att1", "att2", "att3"}
    assert [k.image_id for k in samples[0].entity_images] == ["ent1", "ent2", "ent3"]


def test_samples_round_trip_and_demo_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dialogues = list(read_source("dailydialog", demo_dir() / "dailydialog"))
    samples = list(build_samples(dialogues, retriever=QueryEchoRetriever(), entity_extractor=_words))
    assert len(samples) == sum(len(d.turns) - 1 for d in dialogues)
    path = tmp_path / "s.jsonl"
    assert write_samples(samples, path) == len(samples)
    assert list(read_samples(path)) == samples
