"""Evaluation metrics against a hand-computed reference, the projection, and the ``mmdial retrieval`` CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmdial_data.cli import main
from mmdial_retrieval.evaluate import retrieval_scores
from mmdial_retrieval.projection import fit_projection, load_projection


def test_retrieval_scores_match_a_loop_reference() -> None:
    rng = np.random.default_rng(0)
    texts, images = rng.normal(size=(40, 8)), rng.normal(size=(60, 8))
    targets = rng.integers(0, 60, size=40)
    s = retrieval_scores(texts, images, targets, batch_size=7)
    ranks = []
    for q in range(40):
        scores = [float(texts[q] @ images[j]) for j in range(60)]
        ranks.append(1 + sum(x > scores[targets[q]] for x in scores))
    assert s.ranks == ranks
    assert s.recall_at_5 == sum(r <= 5 for r in ranks) / 40
    assert s.mrr == pytest.approx(sum(1 / r for r in ranks) / 40)


def test_fit_projection_learns_a_hidden_linear_map(tmp_path) -> None:
    rng = np.random.default_rng(1)
    images = rng.normal(size=(300, 16)).astype(np.float32)
    captions = images @ rng.normal(size=(16, 16)).astype(np.float32)
    result = fit_projection(images, captions, tmp_path / "p.npz", epochs=200, seed=0)
    assert result.val_size == 60 and result.train_size == 240
    assert result.val_recall_at_1 > result.val_recall_at_1_before + 0.2
    (w, b), digest = load_projection(tmp_path / "p.npz")
    assert w.shape == (16, 16) and b.shape == (16,) and len(digest) == 64


def test_cli_pool_index_search_eval(tmp_path, photo_folder, capsys) -> None:
    (photo_folder / "captions.csv").write_text(
        "image,caption\nchelsea.png,a cat\ncoffee.png,a cup of coffee\nrocket.jpg,a rocket\n"
        "sub/astronaut.png,an astronaut\n"
    )
    pool = tmp_path / "pool"
    captions = str(photo_folder / "captions.csv")
    assert main(["retrieval", "pool", "add", str(pool), captions, "--format", "captions"]) == 0
    assert "captions: 4 added, 0 problems" in capsys.readouterr().out
    assert main(["retrieval", "pool", "show", str(pool)]) == 0
    assert "4 images (4 captioned)" in capsys.readouterr().out
    assert main(["retrieval", "embed", str(pool), "--encoder", "offline", "--threads", "2"]) == 0
    assert "4 embedded now, 0 from cache" in capsys.readouterr().out
    assert main(["retrieval", "index", str(pool), "--out", str(tmp_path / "idx"), "--workers", "0"]) == 0
    assert "indexed 4 images (flat)" in capsys.readouterr().out
    assert main(["retrieval", "search", str(tmp_path / "idx"), "a cup of coffee", "-k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["hits"][0]["caption"] == "a cup of coffee"
    assert (
        main(
            [
                "retrieval",
                "search",
                str(tmp_path / "idx"),
                str(photo_folder / "rocket.jpg"),
                "--images",
                "-k",
                "1",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)[0]["hits"][0]["caption"] == "a rocket"
    assert main(["retrieval", "eval", str(pool), "--workers", "0", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)  # the default encoder: the trained one (3 of these 4 photos at R@1)
    assert scores["encoder"].startswith("offline:knn-v2+") and scores["queries"] == 4 and scores["recall_at_5"] == 1.0
    assert main(["retrieval", "eval", str(pool), "--encoder", "conse", "--workers", "0", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)  # ImageNet classes name all four photos
    assert scores["encoder"] == "offline:conse-v1" and scores["queries"] == 4 and scores["recall_at_1"] == 1.0


def test_cli_errors_are_one_line(tmp_path, capsys) -> None:
    assert main(["retrieval", "eval", str(tmp_path / "nope")]) == 2
    assert "no image pool here" in capsys.readouterr().err
    assert main(["retrieval", "pool", "add", str(tmp_path / "p"), "--format", "folder"]) == 2
    assert "needs a SOURCE path" in capsys.readouterr().err
    from mmdial_retrieval import ImagePool

    ImagePool.create(tmp_path / "p")
    assert main(["retrieval", "embed", str(tmp_path / "p"), "--encoder", "ofline"]) == 2
    assert "did you mean 'offline'" in capsys.readouterr().err
