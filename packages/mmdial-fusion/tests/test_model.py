from __future__ import annotations

import torch

from mmdial_data.testing import FLOAT32_RTOL, FLOAT32_UNIT_ATOL
from mmdial_fusion.collate import FusionCollator
from mmdial_fusion.model import FusionModel, pack_slots
from mmdial_fusion.projection import ENTITY_IMAGE, TURN_IMAGE


def _setup(backbone, store, ablation="full"):  # type: ignore[no-untyped-def]
    model = FusionModel(backbone.model, store.dim)
    collate = FusionCollator(
        backbone.tokenizer, store, is_encoder_decoder=backbone.is_encoder_decoder, ablation=ablation
    )
    return model, collate


def test_one_step_changes_projection_weights(backbone, store, samples) -> None:  # type: ignore[no-untyped-def]
    model, collate = _setup(backbone, store)
    batch = collate(samples)
    before = [p.detach().clone() for p in model.projection.parameters()]
    type_before = model.modality.embedding.weight.detach().clone()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    loss = model(**batch).loss
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.projection.parameters())
    opt.step()
    after = list(model.projection.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    changed = (model.modality.embedding.weight - type_before).abs().sum(dim=1)
    assert (changed > 0).tolist() == [True, True, True]


def test_loss_drops_on_fixed_batch(backbone, store, samples) -> None:  # type: ignore[no-untyped-def]
    model, collate = _setup(backbone, store)
    batch = collate(samples)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_save_load_round_trip_gives_identical_logits(backbone, store, samples, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model, collate = _setup(backbone, store)
    torch.nn.init.normal_(model.modality.embedding.weight)
    batch = collate(samples)
    model.eval()
    with torch.no_grad():
        expected = model(**batch).logits
    model.save_pretrained(tmp_path / "ckpt")
    loaded = FusionModel.from_pretrained(tmp_path / "ckpt").eval()
    with torch.no_grad():
        got = loaded(**batch).logits
    assert torch.equal(expected, got)


def _response_logits(model, batch, b):  # type: ignore[no-untyped-def]
    """Logits predicting sample b's response tokens (decoder-only: the positions before each response token)."""
    with torch.no_grad():
        out = model(**batch)
    n = int((batch["labels"][b] != -100).sum())
    if model.is_encoder_decoder:
        return out.logits[b, :n]
    packed = model.pack(**batch)
    positions = (packed.labels[b] != -100).nonzero().squeeze(1) - 1
    assert len(positions) == n
    return out.logits[b, positions]


def test_padded_slots_do_not_change_outputs(backbone, store, samples) -> None:  # type: ignore[no-untyped-def]
    model, collate = _setup(backbone, store)
    torch.nn.init.normal_(model.modality.embedding.weight, std=0.5)
    model.eval()
    alone = collate([samples[2]])  # one entity image, short text
    together = collate(samples)  # pads its text and its image slots (3 turn-level slots in another row)
    assert together["image_mask"][2].tolist() == [1, 0, 0]
    assert together["attention_mask"][2].sum() < together["attention_mask"].shape[1]
    a = _response_logits(model, alone, 0)
    b = _response_logits(model, together, 2)
    torch.testing.assert_close(a, b, atol=FLOAT32_UNIT_ATOL, rtol=FLOAT32_RTOL)
    # garbage in padded slots changes nothing either
    noisy = dict(together)
    noisy["image_features"] = together["image_features"].clone()
    noisy["image_features"][2, 1:] = 1000.0
    torch.testing.assert_close(_response_logits(model, noisy, 2), b, atol=FLOAT32_UNIT_ATOL, rtol=FLOAT32_RTOL)
    # but a real image slot does change the output
    changed = dict(together)
    changed["image_features"] = together["image_features"].clone()
    changed["image_features"][2, 0] += 1.0
    assert not torch.allclose(_response_logits(model, changed, 2), b, atol=1e-4)


def test_packed_masks(backbone, store, samples) -> None:  # type: ignore[no-untyped-def]
    model, collate = _setup(backbone, store)
    batch = collate(samples)
    packed = model.pack(**batch)
    text_len = batch["attention_mask"].sum(1)
    images = batch["image_mask"].sum(1)
    response = (batch["labels"] != -100).sum(1)
    expected = text_len + images + (0 if model.is_encoder_decoder else response)
    assert packed.attention_mask.sum(1).tolist() == expected.tolist()
    mask = packed.attention_mask
    if model.is_encoder_decoder:  # real slots first, padding last
        assert torch.equal(mask, (torch.arange(mask.shape[1]) < expected[:, None]).long())
    else:  # padding first; positions count real slots only; loss only on the response
        assert torch.equal(mask, (torch.arange(mask.shape[1]) >= mask.shape[1] - expected[:, None]).long())
        assert packed.position_ids is not None and packed.labels is not None
        for b in range(len(samples)):
            real = packed.position_ids[b][mask[b].bool()]
            assert real.tolist() == list(range(int(expected[b])))
            labelled = packed.labels[b] != -100
            assert labelled.sum() == response[b]
            assert labelled[-int(response[b]) :].all()
            assert packed.labels[b][-int(response[b]) :].tolist() == batch["labels"][b][: int(response[b])].tolist()


def test_pack_slots_orders_real_slots() -> None:
    idx, mask = pack_slots([torch.tensor([[1, 0], [1, 1]]), torch.tensor([[1], [0]])], side="right")
    assert idx.tolist() == [[0, 2], [0, 1]] and mask.tolist() == [[1, 1], [1, 1]]


def test_ablations_remove_exactly_the_intended_slots(backbone, store, samples) -> None:  # type: ignore[no-untyped-def]
    full = _setup(backbone, store, "full")[1](samples)
    n_turn = [len(s.turn_images) for s in samples]
    n_entity = [len(s.entity_images) for s in samples]
    assert (full["image_types"] == TURN_IMAGE).sum(1).tolist() == n_turn
    assert (full["image_types"] == ENTITY_IMAGE).sum(1).tolist() == n_entity
    for ablation, turn, entity in (("no_turn", False, True), ("no_entity", True, False)):
        batch = _setup(backbone, store, ablation)[1](samples)
        kept = batch["image_mask"].sum(1).tolist()
        assert kept == [t * turn + e * entity for t, e in zip(n_turn, n_entity, strict=True)]
        assert ((batch["image_types"] == TURN_IMAGE).sum() > 0) == turn
        assert ((batch["image_types"] == ENTITY_IMAGE).sum() > 0) == entity
        # the kept slots carry exactly the same features as in the full batch
        for b in range(len(samples)):
            keep = full["image_types"][b] == (TURN_IMAGE if turn else ENTITY_IMAGE)
            got = batch["image_features"][b][batch["image_mask"][b].bool()]
            torch.testing.assert_close(got, full["image_features"][b][keep])
    text_only = FusionCollator(
        backbone.tokenizer, None, is_encoder_decoder=backbone.is_encoder_decoder, ablation="text_only"
    )(samples)
    assert "image_features" not in text_only
    assert torch.equal(text_only["input_ids"], full["input_ids"])
    model = FusionModel(backbone.model, store.dim)
    assert model.pack(**text_only).attention_mask.sum() == full["attention_mask"].sum() + (
        0 if backbone.is_encoder_decoder else (full["labels"] != -100).sum()
    )


def test_sample_losses_add_up_to_the_batch_loss(backbone, store, samples) -> None:  # type: ignore[no-untyped-def]
    """Per-sample summed cross-entropy / tokens equals forward()'s token-weighted loss, batch and one by one."""
    model, collate = _setup(backbone, store)
    model.eval()
    with torch.no_grad():
        batch = collate(samples)
        nll, tokens = model.sample_losses(**batch)
        assert tokens.tolist() == batch["labels"].ne(-100).sum(dim=1).tolist()
        loss = model(**batch).loss
        torch.testing.assert_close(nll.sum() / tokens.sum(), loss, rtol=FLOAT32_RTOL, atol=FLOAT32_UNIT_ATOL)
        for i, sample in enumerate(samples):  # each row alone: its loss does not depend on the batch's padding
            one_nll, one_tokens = model.sample_losses(**collate([sample]))
            assert int(one_tokens[0]) == int(tokens[i])
            alone = model(**collate([sample])).loss * one_tokens[0]
            torch.testing.assert_close(one_nll[0], alone, rtol=FLOAT32_RTOL, atol=1e-4)
            torch.testing.assert_close(one_nll[0], nll[i], rtol=FLOAT32_RTOL, atol=1e-4)
