"""Candidates: never the first turn, context required, length filter on words longer than 2 chars."""

from __future__ import annotations

from mmdial_augment.candidates import all_candidates, candidates, count_long_words
from mmdial_data import Dialogue, ImageRef, Turn


def test_first_turn_and_single_turn_dialogues_have_no_candidates(dialogue):
    assert list(candidates(dialogue("d/1", "I love my dog."))) == []
    got = list(candidates(dialogue("d/2", "I love my dog.", "Me too, dogs are great.")))
    assert [c.turn_index for c in got] == [1]
    assert got[0].context == ("I love my dog.",)


def test_context_skips_empty_turns_and_image_turns():
    d = Dialogue(
        "d/3",
        "t",
        "train",
        [
            Turn(0, "A", "speaker_a", "", images=[ImageRef("i", "x.png", "s")]),
            Turn(1, "B", "speaker_b", "  Look at this cat!  "),
            Turn(2, "A", "speaker_a", "So cute."),
        ],
    )
    got = list(candidates(d))
    assert [(c.turn_index, c.utterance, c.context) for c in got] == [(2, "So cute.", ("Look at this cat!",))]


def test_length_filter_counts_only_words_longer_than_two_chars(dialogue):
    assert count_long_words("I am at a zoo ok") == 1
    d = dialogue("d/4", "Hello friend.", "I am at a zoo", "We saw big red bears there")
    assert [c.turn_index for c in candidates(d, min_words=2)] == [2]
    assert [c.turn_index for c in candidates(d, max_words=1)] == [1]
    # filtered turns still count as context
    assert next(iter(candidates(d, min_words=2))).context == ("Hello friend.", "I am at a zoo")
    assert len(all_candidates([d, d])) == 4
