from __future__ import annotations

import numpy as np
import pytest
import torch

from mmdial_fusion.backbones import load_backbone
from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.samples import FusionSample, VisualKnowledge

IMAGE_DIM = 12


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def store() -> ImageFeatureStore:
    rng = np.random.default_rng(0)
    ids = [f"img{i}" for i in range(10)]
    return ImageFeatureStore(ids, rng.standard_normal((10, IMAGE_DIM)).astype(np.float32))


@pytest.fixture
def samples() -> list[FusionSample]:
    def vk(i: int, level: str) -> VisualKnowledge:
        return VisualKnowledge(f"img{i}", level, caption=f"caption {i}", entity="cat" if level == "entity" else None)

    return [
        FusionSample(
            "d1#1",
            "d1",
            ["Do you want to go hiking ?"],
            [0],
            "Sure , where ?",
            1,
            [vk(0, "turn")],
            [vk(1, "entity"), vk(2, "entity")],
        ),
        FusionSample(
            "d1#3",
            "d1",
            ["Sure , where ?", "The trail by the lake ."],
            [1, 2],
            "Great idea !",
            3,
            [vk(3, "turn"), vk(4, "turn"), vk(5, "turn")],
            [],
        ),
        FusionSample(
            "d2#1", "d2", ["My cat sleeps on the sofa all day ."], [0], "I like cheese .", 1, [], [vk(6, "entity")]
        ),
    ]


@pytest.fixture(params=["tiny-t5", "tiny-gpt2"])
def backbone_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backbone(backbone_name: str):  # type: ignore[no-untyped-def]
    return load_backbone(backbone_name, seed=0)
