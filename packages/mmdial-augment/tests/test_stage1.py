"""Stage 1 as a scorer: the PhotoChat labelling rule, seeded nested CV, the `stage1` command's JSONL and its
error lines, the shipped classifiers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mmdial_augment import stage1_eval as ev
from mmdial_augment.stage1 import (
    EMBEDDING_GROUPS,
    IMAGE_FEATURES,
    TEXT_FEATURES,
    FeatureTable,
    ObjectMatcher,
    Stage1Model,
    dialogue_objects,
    fit_stage1_model,
    label_dialogues,
    load_stage1_model,
    photo_objects,
    shipped_model_path,
)
from mmdial_data import Annotations, Dialogue, ImageRef, Turn, write_dialogues

ERROR_LINE = re.compile(r"^mmdial: error: \S.*: .+; .+$")


def share(i: int, speaker: str, caption: str | None) -> Turn:
    ref = ImageRef("photo", "https://example.org/p.jpg", "photochat", caption=caption)
    return Turn(
        i,
        speaker,
        "speaker_a" if speaker == "0" else "speaker_b",
        "",
        images=[ref],
        annotations=Annotations(extra={"share_photo": True}),
    )


def say(i: int, speaker: str, text: str) -> Turn:
    return Turn(i, speaker, "speaker_a" if speaker == "0" else "speaker_b", text)


CAPTION = "The photo has my dog. Objects in the photo: Dog, Ice cream, Coffee cup, Drink, Horse"


def beach_dialogue(did: str = "photochat/test/t/1") -> Dialogue:
    return Dialogue(
        did,
        "photochat",
        "test",
        [
            say(0, "0", "I walked my two dogs on the beach"),
            say(1, "1", "Nice! Do you drink?"),
            say(2, "0", "We had ice-cream and a coffee cup"),
            say(3, "1", "I love cream"),
            say(4, "0", "Want to see a picture?"),
            say(5, "1", "Sure"),
            share(6, "0", CAPTION),
            say(7, "1", "The horses look fast"),
            say(8, "0", "   "),
            say(9, "0", "Bye"),
        ],
        meta={"photo_description": CAPTION},
    )


# ---- labels -----------------------------------------------------------------------------------------------
def test_photo_objects_parses_the_description():
    assert photo_objects(CAPTION) == ["Dog", "Ice cream", "Coffee cup", "Drink", "Horse"]
    assert photo_objects("no marker here") == [] and photo_objects(None) == []


def test_labels_of_a_hand_written_dialogue():
    got = [(u.turn_index, u.intent, u.content, u.matched) for u in label_dialogues([beach_dialogue()])]
    assert got == [
        (0, 0, 1, ("Dog",)),  # plural "dogs" -> lemma dog
        (1, 0, 0, ()),  # "drink" is a verb here: no object named
        (2, 0, 1, ("Ice cream", "Coffee cup")),  # multi-word objects, the hyphen is punctuation
        (3, 0, 0, ()),  # "cream" alone is not "Ice cream"
        (4, 1, 0, ()),  # the sharer's last message before the share turn
        (5, 0, 0, ()),
        (7, 0, 1, ("Horse",)),  # empty share turn 6 and blank turn 8 get no label
        (9, 0, 0, ()),
    ]


def test_intent_follows_the_sharer_and_objects_fall_back_to_meta():
    d = Dialogue(
        "photochat/test/t/2",
        "photochat",
        "test",
        [
            say(0, "0", "I got a new cat"),
            say(1, "1", "Show me"),
            say(2, "1", "please"),
            share(3, "0", None),  # no caption: the objects come from the dialogue meta
            say(4, "1", "What a cat!"),
            share(5, "1", None),  # a sharer who never spoke before: no intent turn
        ],
        meta={"photo_description": "The photo has a cat. Objects in the photo: Cat"},
    )
    assert dialogue_objects(d) == ["Cat"]
    got = [(u.turn_index, u.intent, u.content) for u in label_dialogues([d])]
    assert got == [(0, 1, 1), (1, 0, 0), (2, 0, 0), (4, 1, 1)]


def test_matcher_needs_the_whole_phrase_and_a_noun():
    m = ObjectMatcher()
    assert m.matches("we ate ice cream", ["Ice cream", "Cream"]) == ["Ice cream", "Cream"]
    assert m.matches("the ice was thin", ["Ice cream"]) == []
    assert m.matches("I like Wine glasses", ["Wine glass"]) == ["Wine glass"]


# ---- nested CV, determinism --------------------------------------------------------------------------------
def synthetic(n_dialogues: int = 24, per: int = 8, seed: int = 0) -> tuple[FeatureTable, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    n = n_dialogues * per
    y = (rng.random(n) < 0.25).astype(int)
    cols = {
        k: rng.normal(size=n) + (0.8 * y if k in ("max_entity_score", "n_nouns") else 0.0)
        for k in (*IMAGE_FEATURES, *TEXT_FEATURES)
    }
    cols["threshold"] = (cols["max_entity_score"] > 0.5).astype(float)
    groups = {g: rng.normal(size=(n, 3)) for g in EMBEDDING_GROUPS}
    return FeatureTable(cols, groups), y, [f"d{i // per}" for i in range(n)]


SMALL = [
    ev.Config("logistic_regression", "image+text+emb", (("C", 0.1),)),
    ev.Config("logistic_regression", "text", (("C", 0.1),)),
    ev.Config("logistic_regression", "imad5", (("C", 0.1),)),
    ev.Config("random_forest", "imad5", (("min_samples_leaf", 5), ("n_estimators", 5))),
]


def test_folds_keep_dialogues_together_and_follow_the_seed():
    groups = [f"d{i // 3}" for i in range(30)]
    f = ev.group_folds(groups, 4, seed=3)
    assert all(len({f[i] for i in range(len(groups)) if groups[i] == g}) == 1 for g in set(groups))
    assert f.tolist() == ev.group_folds(groups, 4, seed=3).tolist()
    assert f.tolist() != ev.group_folds(groups, 4, seed=4).tolist()


def test_nested_cv_and_bootstrap_are_deterministic_given_the_seed():
    table, y, groups = synthetic()
    a = ev.evaluate(table, {"content": y}, groups, outer=3, inner=2, n_boot=50, seed=0, configs=SMALL)
    b = ev.evaluate(table, {"content": y}, groups, outer=3, inner=2, n_boot=50, seed=0, configs=SMALL)
    for r in (a, b):
        r["content"].pop("seconds")
    assert a == b
    s = a["content"]["systems"]
    assert set(s) == {*ev.FAMILIES, *ev.BASELINES}
    assert all(c["feature_set"] == "imad5" for c in s["image_only"]["chosen"])
    assert all(c["feature_set"] not in ev.IMAGE_SETS for c in s["no_image"]["chosen"])
    lo, hi = s["classifier"]["ci95"]
    assert lo <= hi and len(s["classifier"]["chosen"]) == 3


def test_auc_and_f1_helpers_match_scikit_learn():
    from sklearn.metrics import f1_score, roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.3 * y, 1)  # ties
    assert ev.roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    cut = ev.best_f1_cutoff(y, s)
    best = max(f1_score(y, s >= c) for c in np.unique(s))
    assert ev.f1_score(y, s >= cut)["f1"] == pytest.approx(best)


@pytest.mark.parametrize("kind", ["logistic_regression", "random_forest"])
def test_model_json_round_trip(kind, tmp_path):
    table, y, _ = synthetic()
    feats = ("max_entity_score", "n_nouns", "sentence_embedding")
    params = {"C": 0.5} if kind == "logistic_regression" else {"n_estimators": 4, "min_samples_leaf": 3}
    model = fit_stage1_model(table, y, feats, kind=kind, seed=0, **params)
    model.save(tmp_path / "m.json")
    again = load_stage1_model(tmp_path / "m.json")
    assert again.dim == 5 and again.features == feats
    np.testing.assert_allclose(again.predict_proba(table), model.predict_proba(table))


# ---- the stage1 command ------------------------------------------------------------------------------------
@pytest.fixture
def unified(tmp_path):
    path = tmp_path / "chat.jsonl"
    write_dialogues([beach_dialogue("photochat/test/t/1"), beach_dialogue("photochat/test/t/2")], path)
    return path


def stage1_args(dataset, out, image_dir, tmp_path, *extra):
    pool = f"captions:{image_dir / 'captions.jsonl'}"
    return [
        "augment",
        "stage1",
        str(dataset),
        "--out",
        str(out),
        "--encoder",
        "openclip:mmdial-tiny",
        "--pool",
        pool,
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-progress",
        *extra,
    ]


def test_stage1_command_writes_one_line_per_utterance(unified, image_dir, tmp_path, capsys):
    from mmdial_data.cli import main

    out = tmp_path / "scores.jsonl"
    assert main(stage1_args(unified, out, image_dir, tmp_path)) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["dialogue_id"], r["turn_index"]) for r in rows] == [
        (f"photochat/test/t/{d}", i) for d in (1, 2) for i in (0, 1, 2, 3, 4, 5, 7, 9)
    ]  # turn_index counts the share turn 6 (and blank turn 8), which get no line
    first = rows[0]
    assert list(first)[:3] == ["dialogue_id", "turn_index", "score"]
    assert set(first) == {"dialogue_id", "turn_index", "score", *IMAGE_FEATURES, *TEXT_FEATURES}
    assert all(0.0 <= r["score"] <= 1.0 for r in rows)
    assert isinstance(first["threshold"], bool) and first["n_words"] == 8 and first["n_nouns"] == 2
    assert [r["score"] for r in rows[:8]] == [r["score"] for r in rows[8:]]  # two copies of one dialogue
    assert "scored 16 utterances of 2 dialogues" in capsys.readouterr().out

    again = tmp_path / "again.jsonl"  # a second run writes the same bytes
    assert main(stage1_args(unified, again, image_dir, tmp_path)) == 0
    assert again.read_text() == out.read_text()


def test_stage1_reads_reader_colon_path(image_dir, tmp_path):
    from mmdial_data.cli import main
    from mmdial_data.testing import demo_dir

    out = tmp_path / "s.jsonl"
    assert main(stage1_args(f"photochat:{demo_dir() / 'photochat'}", out, image_dir, tmp_path)) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(r["dialogue_id"].startswith("photochat/") for r in rows)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("mmdial: error:")]
    assert len(errors) == 1, err
    assert ERROR_LINE.match(errors[0]), errors[0]
    return errors[0]


def test_missing_dataset_is_one_error_line(image_dir, tmp_path, capsys):
    from mmdial_data.cli import main

    out = tmp_path / "s.jsonl"
    assert main(stage1_args(tmp_path / "nope.jsonl", out, image_dir, tmp_path)) == 2
    assert f"{tmp_path / 'nope.jsonl'}: no such dataset;" in _one_error_line(capsys)
    assert main(stage1_args(f"photochat:{tmp_path / 'nope'}", out, image_dir, tmp_path)) == 2
    assert "no such input for reader 'photochat'" in _one_error_line(capsys)
    assert main(stage1_args(f"nosuchreader:{tmp_path}", out, image_dir, tmp_path)) == 2
    assert "no reader named 'nosuchreader'" in _one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": "something-else"}), "\udcff"])
def test_unreadable_classifier_is_one_error_line(unified, image_dir, tmp_path, capsys, content):
    from mmdial_data.cli import main

    bad = tmp_path / "clf.json"
    bad.write_bytes(b"\xff\xfe" if content == "\udcff" else content.encode())
    out = tmp_path / "s.jsonl"
    assert main(stage1_args(unified, out, image_dir, tmp_path, "--classifier", str(bad))) == 2
    assert _one_error_line(capsys).startswith(f"mmdial: error: {bad}: ")
    assert main(stage1_args(unified, out, image_dir, tmp_path, "--classifier", str(tmp_path / "x.json"))) == 2
    assert "no such classifier file" in _one_error_line(capsys)
    assert not out.exists()


def test_unwritable_output_is_one_error_line_and_leaves_no_file(unified, image_dir, tmp_path, capsys, monkeypatch):
    from mmdial_augment import io_utils
    from mmdial_data.cli import main

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(stage1_args(unified, blocker / "s.jsonl", image_dir, tmp_path)) == 2
    assert "is not a folder" in _one_error_line(capsys)
    assert main(stage1_args(unified, tmp_path, image_dir, tmp_path)) == 2
    assert "is a folder" in _one_error_line(capsys)

    out = tmp_path / "out" / "s.jsonl"
    out.parent.mkdir()
    out.write_text("old\n")

    def failing_write(path, text):  # the disk fills up half-way through the rename's temp file
        def write(tmp):
            with open(tmp, "w") as fh:
                fh.write(text[:10])
            raise OSError(28, "No space left on device")

        io_utils.atomic_write(path, write)

    monkeypatch.setattr(io_utils, "atomic_write_text", failing_write)
    assert main(stage1_args(unified, out, image_dir, tmp_path)) == 2
    assert "No space left on device" in _one_error_line(capsys)
    assert out.read_text() == "old\n" and sorted(p.name for p in out.parent.iterdir()) == ["s.jsonl"]


# ---- the shipped classifiers -------------------------------------------------------------------------------
@pytest.mark.parametrize("label", ["content", "intent"])
def test_shipped_classifier_loads_and_scores(label):
    model = load_stage1_model(shipped_model_path(label))
    assert isinstance(model, Stage1Model) and model.meta["label"] == label
    for key in ("training_data", "features", "hyper_parameters", "nested_cv", "encoder_id", "selection"):
        assert key in model.meta
    assert model.meta["training_data"]["n_dialogues"] == 220
    table, _, _ = synthetic()
    dims = {g: 384 for g in EMBEDDING_GROUPS}
    table.groups = {g: np.zeros((len(table), d)) for g, d in dims.items()}
    p = model.predict_proba(table)
    assert p.shape == (len(table),) and np.all((p >= 0) & (p <= 1))


# ---- the real PhotoChat samples ----------------------------------------------------------------------------
@pytest.mark.samples
def test_labels_on_the_photochat_samples():
    from mmdial_augment.stage1_cli import load_dataset, parse_dataset
    from mmdial_data.testing import samples_dir

    dialogues = []
    for name in ("photochat", "photochat_more"):
        dialogues += load_dataset(parse_dataset(f"photochat:{samples_dir(name)}"))
    labels = label_dialogues(dialogues)
    assert len(dialogues) == 220 and len(labels) == 2823
    per_dialogue = {}
    for u in labels:
        per_dialogue[u.dialogue_id] = per_dialogue.get(u.dialogue_id, 0) + u.intent
    assert set(per_dialogue.values()) == {1}  # in these samples the sharer always spoke before sharing
    assert sum(u.content for u in labels) == 188
    assert all(u.matched for u in labels if u.content)
