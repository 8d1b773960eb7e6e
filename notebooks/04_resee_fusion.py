# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · ReSee visual-knowledge fusion
#
# ReSee (Tu et al., EMNLP 2023) gives a text dialogue model *visual knowledge*: for each context it retrieves
# turn-level images (one per context turn) and entity-level images (one per noun/entity of the context), projects
# their embeddings into the backbone's hidden size and appends them after the context text. `mmdial_fusion`
# builds those samples from the unified dataset (notebook 01) and the image index (notebook 02), fine-tunes the
# backbone **with and without images at identical budgets** (same samples, steps, batch, learning rate, seed),
# generates responses for held-out dialogues and scores them with `mmdial_metrics`, per ablation.
#
# What to look at: the retrieved images next to each context (is the visual knowledge plausible at all?), the
# two training-loss curves (do both systems learn the same amount?), the held-out loss and the metrics per
# ablation, and the example responses. Read the last section before drawing any conclusion from the numbers.

# %% tags=["parameters"]
out_dir = "../reports/04_resee_fusion"
cache_dir = "../datasets/cache/demo"  # shared with notebooks 02 and 03: pool/, index/, embeddings/
dataset = "../reports/01_unify_datasets/dataset/data"  # the unified demo dataset written by notebook 01
backbone = "smollm2-135m-instruct"  # offline preset; tiny-gpt2 / tiny-t5 for a quick smoke run
max_steps = 6  # optimizer steps per system (both systems get the same)
max_samples = 64  # training samples at most (windows of the training dialogues)
max_test = 16  # held-out samples at most (windows of the held-out dialogues)
test_fraction = 0.3  # share of dialogues held out for evaluation
batch_size = 2
lr = 3e-4
max_new_tokens = 16
max_context_tokens = 64  # context tokens kept (from the end)
seed = 0
probe_steps = 150  # visual-dependency probe: optimizer steps per system (the README's table: 1000)
probe_train, probe_test = 200, 100  # probe images (the README's table: 2000 / 500)

# %%
import base64
import functools
import html
import io
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import HTML, Markdown, display
from PIL import Image

import mmdial_retrieval as mr
from mmdial_data import read_dialogues
from mmdial_fusion import (
    FusionConfig,
    GenerationConfig,
    IndexRetriever,
    KnowledgeConfig,
    build_samples,
    features_from_index,
    load_checkpoint,
    spacy_entity_extractor,
    train,
)
from mmdial_fusion.evaluation import DISPLAY_NAMES, SCORE_NAMES, score_report, table_row
from mmdial_fusion.retrieval_adapter import used_image_ids
from mmdial_fusion.runs import evaluate_cached, is_finished, run_dir, split_by_dialogue, train_losses, write_predictions

started = time.perf_counter()
out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)
cache = Path(cache_dir)
cache.mkdir(parents=True, exist_ok=True)
timings: dict[str, float] = {}

# %% [markdown]
# ## The image pool and its index
# Notebook 02 builds `{cache_dir}/pool` (an `mmdial_retrieval.ImagePool`) and `{cache_dir}/index` (a saved
# `VectorIndex` of the offline encoder's image embeddings). When this notebook runs on its own and the index
# is missing, it builds both here: Debian's Tux Paint stamps when installed, else scikit-image's bundled photos
# (a pip-only pool, much smaller and uncaptioned). Embeddings are cached in `{cache_dir}/embeddings`, so a second
# run embeds nothing.

# %%
t0 = time.perf_counter()
encoder = mr.get_encoder("offline")
pool_dir, index_dir = cache / "pool", cache / "index"
built_index_here = False
if not (index_dir / "index.json").is_file():
    pool = mr.ImagePool.create(pool_dir, exist_ok=True)
    if len(pool) == 0:
        tuxpaint = Path("/usr/share/tuxpaint/stamps")
        if tuxpaint.is_dir():
            print(pool.add_tuxpaint(tuxpaint).summary())
        else:
            import skimage

            print(pool.add_folder(Path(skimage.__file__).parent / "data", source="skimage").summary())
    embedded = mr.embed_pool(pool, encoder, mr.EmbeddingCache(cache / "embeddings"), num_workers=0)
    index = mr.VectorIndex.build(
        embedded.vectors, ids=embedded.ids, captions=pool.captions(embedded.ids), encoder_id=encoder.encoder_id
    )
    index.save(index_dir)
    built_index_here = True
index = mr.VectorIndex.load(index_dir)
pool = mr.ImagePool.open(pool_dir)
pool_sources = sorted({item.source for item in pool})
timings["pool_and_index"] = time.perf_counter() - t0
display(
    Markdown(
        f"Pool: **{', '.join(pool_sources)}**, {len(pool)} images; index: {len(index)} vectors of "
        f"`{index.encoder_id}` ({'built here' if built_index_here else 'from notebook 02'})."
    )
)

# %% [markdown]
# ## Samples with visual knowledge
# Context = up to three previous turns, response = the next turn. Turn-level images: the best hit of each context
# turn's text; entity-level images: the best hit of each spaCy noun/entity of the context. Nothing comes from the
# response turn. Images attached to the dialogues themselves are not used (they have no embedding in this
# index). Whole dialogues are held out for evaluation, so no test context was seen in training.

# %%
t0 = time.perf_counter()
dialogues = list(read_dialogues(dataset))
knowledge = KnowledgeConfig(
    max_context_turns=3, max_turn_images=5, max_entity_images=6, last_only_splits=(), use_attached_images=False
)
samples = list(
    build_samples(
        dialogues, retriever=IndexRetriever(encoder, index), entity_extractor=spacy_entity_extractor(), config=knowledge
    )
)
train_samples, test_samples, held_out = split_by_dialogue(
    samples, test_fraction=test_fraction, seed=seed, max_train=max_samples, max_test=max_test
)
dialogue_ids = sorted({s.dialogue_id for s in samples})
features = features_from_index(index, used_image_ids(samples))
timings["samples"] = time.perf_counter() - t0
n_turn = sum(len(s.turn_images) for s in samples) / len(samples)
n_ent = sum(len(s.entity_images) for s in samples) / len(samples)
display(
    Markdown(
        f"{len(dialogues)} dialogues -> {len(samples)} samples; **{len(train_samples)} for training** (from "
        f"{len(dialogue_ids) - len(held_out)} dialogues), **{len(test_samples)} held out** (from {len(held_out)} "
        f"dialogues). Per sample: {n_turn:.1f} turn-level and {n_ent:.1f} entity-level images on average; "
        f"{len(features)} distinct images ({features.dim}-d)."
    )
)


# %%
def thumb(image_id: str, size: int = 72) -> str:
    """An <img> tag with a small inline PNG of a pool image."""
    with Image.open(pool.path_of(image_id)) as im:
        im = im.convert("RGBA")
        im.thumbnail((size, size))
        buf = io.BytesIO()
        im.save(buf, format="PNG")
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img src="data:image/png;base64,{data}" width="{size}" style="margin:2px;vertical-align:middle">'


def knowledge_html(sample) -> str:  # type: ignore[no-untyped-def]
    """The images of one sample, turn level then entity level, each with its caption / entity."""
    cells = [
        f'<figure style="display:inline-block;margin:2px;text-align:center">{thumb(k.image_id)}'
        f'<figcaption style="font-size:10px">{html.escape(label)}</figcaption></figure>'
        for k, label in [(k, f"turn {k.turn_index}: {k.caption or ''}") for k in sample.turn_images]
        + [(k, f"entity '{k.entity}'") for k in sample.entity_images]
    ]
    return "".join(cells) or "<i>no images</i>"


example = max(train_samples, key=lambda s: len(s.turn_images) + len(s.entity_images))
display(
    HTML(
        "<div style='font-family:sans-serif'><b>Context</b><ol>"
        + "".join(f"<li>{html.escape(t)}</li>" for t in example.context)
        + f"</ol><b>Response</b>: {html.escape(example.response)}<br><b>Visual knowledge</b><br>"
        + knowledge_html(example)
        + "</div>"
    )
)

# %% [markdown]
# ## Fine-tune with and without visual knowledge
# Two runs of the same backbone with the same budget. The only difference is `data.ablation`: `full` (text +
# image slots) or `text_only`. Checkpoints live in `{cache_dir}/fusion-runs/<config hash>/`; a second run of the
# notebook with the same configuration and samples skips training. The converted SmolLM2 checkpoint is cached
# once under `~/.cache/mmdial/fusion/`.


# %%
def run_config(ablation: str) -> FusionConfig:
    raw = {
        "backbone": backbone,
        "seed": seed,
        "data": {
            "ablation": ablation,
            "max_context_tokens": max_context_tokens,
            "max_response_tokens": 32,
            "max_turn_images": 5,
            "max_entity_images": 6,
        },
        "train": {
            "max_steps": max_steps,
            "batch_size": batch_size,
            "lr": lr,
            "warmup_ratio": 0.1,
            "early_stopping_patience": None,
            "log_every": 5,
            "output_dir": "unset",
            "eval_every": max_steps,
            "keep_final_trainer_state": False,
        },  # one checkpoint at the end, weights stored once, no optimizer state (a 135M model's would be ~1 GB)
        "generation": {"strategy": "greedy", "max_new_tokens": max_new_tokens, "batch_size": 8},
    }
    folder = run_dir(cache / "fusion-runs", raw, train_samples, features, index.encoder_id, ablation)
    raw["train"]["output_dir"] = str(folder)
    return FusionConfig.from_dict(raw)


t0 = time.perf_counter()
configs = {system: run_config(system) for system in ("text_only", "full")}
trained_now = []
for system, config in configs.items():
    if is_finished(config):
        print(f"{system}: checkpoint found in {config.train.output_dir}, training skipped")
        continue
    result = train(config, train_samples=train_samples, features=features, device="cpu")
    trained_now.append(system)
    print(f"{system}: {result.steps} steps -> {result.output_dir}")
timings["train"] = time.perf_counter() - t0

# %%
losses = {system: train_losses(config.train.output_dir) for system, config in configs.items()}
fig, ax = plt.subplots(figsize=(7, 3.2))
for system, values in losses.items():
    ax.plot(range(1, len(values) + 1), values, label=f"trained {'with images' if system == 'full' else 'text only'}")
ax.set_xlabel("optimizer step")
ax.set_ylabel("training loss (response tokens)")
ax.set_title(f"{backbone}, {len(train_samples)} samples, batch {batch_size}")
ax.legend()
fig.tight_layout()
fig.savefig(out / "training_loss.png", dpi=100)
plt.show()

# %% [markdown]
# ## Generate and evaluate per ablation
# The model trained with images is evaluated with all slots (`full`), without turn-level images (`no_turn`),
# without entity-level images (`no_entity`) and with all images removed at test time (`text_only`); the
# text-only model is evaluated on text. Greedy decoding; generations are cached next to the checkpoints.
# Scores come from `mmdial_metrics` (variants and signatures below); held-out loss is the token-weighted
# response cross-entropy of the same samples.

# %%
t0 = time.perf_counter()
gen_config = GenerationConfig(strategy="greedy", max_new_tokens=max_new_tokens, batch_size=8)
plan = [
    ("text-only model", "text_only", "text_only"),
    ("visual model: full", "full", "full"),
    ("visual model: no_turn", "full", "no_turn"),
    ("visual model: no_entity", "full", "no_entity"),
    ("visual model: images removed", "full", "text_only"),
]
refs = [s.response for s in test_samples]
responses: dict[str, list[str]] = {}
held_out_loss: dict[str, float] = {}
load = functools.lru_cache(maxsize=1)(load_checkpoint)  # one model in memory, loaded once for its ablations
for name, system, ablation in plan:
    record = evaluate_cached(
        configs[system].train.output_dir, test_samples, features, ablation, gen_config, seed=seed, load=load
    )
    responses[name] = record["responses"]
    held_out_loss[name] = record["loss"]
load.cache_clear()
reports = {name: score_report(responses[name], refs) for name, _, _ in plan}
signatures = reports[plan[0][0]]["signatures"]
timings["generate_and_score"] = time.perf_counter() - t0
# Predictions per system as {dialogue_id, turn_index, prediction}: notebook 05 scores them next to its baselines.
for name, _, _ in plan:
    slug = name.replace("visual model: ", "visual-").replace(" ", "-")
    write_predictions(out / "predictions" / f"{slug}.jsonl", test_samples, responses[name])

metrics_table = [
    {**table_row(name, reports[name]["scores"]), "held_out_loss": held_out_loss[name]} for name, _, _ in plan
]
columns = ["system", *(DISPLAY_NAMES[n] for n in SCORE_NAMES), "held_out_loss"]
rows = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
rows += ["| " + " | ".join([r["system"], *(f"{r[c]:.3f}" for c in columns[1:])]) + " |" for r in metrics_table]
display(Markdown("\n".join(rows)))
display(
    Markdown(
        "Metric variants (mmdial-metrics signatures):\n\n"
        + "\n".join(f"- {DISPLAY_NAMES[n]}: `{signatures[n]}`" for n in SCORE_NAMES)
    )
)

# %% [markdown]
# ## Example responses
# Context, the images the visual model saw, the reference and what each system said.

# %%
blocks = []
for i, s in enumerate(test_samples[:4]):
    said = "".join(
        f"<tr><td style='padding-right:8px'><i>{html.escape(name)}</i></td>"
        f"<td>{html.escape(responses[name][i]) or '<i>(empty)</i>'}</td></tr>"
        for name in ("text-only model", "visual model: full", "visual model: images removed")
    )
    blocks.append(
        f"<div style='font-family:sans-serif;border-top:1px solid #ccc;padding:6px 0'>"
        f"<b>{html.escape(s.sample_id)}</b><ol>"
        + "".join(f"<li>{html.escape(t)}</li>" for t in s.context)
        + f"</ol>{knowledge_html(s)}<table><tr><td style='padding-right:8px'><b>reference</b></td>"
        f"<td>{html.escape(s.response)}</td></tr>{said}</table></div>"
    )
display(HTML("".join(blocks)))

# %% [markdown]
# ## Does the fusion model use its images? A visual-dependency probe
# Dialogue responses rarely depend on a picture, so the tables above cannot tell whether the model reads its
# image slots. `mmdial_fusion.probe` builds dialogues whose answer is *only* in the image: the user asks "what
# colour is the shape in my photo?" with an easy-vqa image attached to that turn, the target is "it's <colour>".
# The images take the real path (an `ImagePool`, the offline encoder through `embed_pool` and the embedding cache,
# turn-level visual knowledge of `build_samples`, `FusionModel`), train and test images are disjoint (easy-vqa's
# split). Four systems, same tiny GPT-2 trained from scratch, same samples, steps, batch and seed: **full**,
# **text_only** (no visual slots), **shuffled** (images permuted among the samples, in training and test) and
# **removed** (the full model tested without images). Accuracy = the best-scoring of the eight answers (summed
# log-likelihood) is the target; bootstrap 95% intervals; the prior is the test set's majority-answer accuracy.
# If the model reads its images, only the `full` row rises above the prior. The notebook's default is small
# (`probe_steps`, `probe_train`, `probe_test`); the fusion README has the full-size table
# (`mmdial fusion probe`).

# %%
from mmdial_fusion.probe import run_probe

t0 = time.perf_counter()
probe = run_probe(
    "colour",
    steps=probe_steps,
    batch_size=32,
    seed=seed,
    n_train=probe_train,
    n_test=probe_test,
    cache_dir=cache / "probe",
)
timings["probe"] = time.perf_counter() - t0
display(Markdown(probe.table()))
display(
    Markdown(
        f"Backbone `{probe.settings['backbone']}`, {probe.settings['steps']} steps of batch "
        f"{probe.settings['batch_size']}, encoder `{probe.settings['encoder']}`, {probe.settings['n_train']} training / "
        f"{probe.settings['n_test']} test images, {probe.wall_s:.0f} s."
    )
)

# %% [markdown]
# ## What these numbers can and cannot show
# - **Can**: that the whole ReSee pipeline runs offline end to end (retrieval -> samples -> fusion -> training ->
#   generation -> evaluation), that both systems got exactly the same budget, that the training loss goes down,
#   and how the model trained with images reacts when its images are removed at test time (a model that ignores
#   its visual slots scores the same under every ablation).
# - **Cannot**: whether visual knowledge helps dialogue generation. With a few dozen training samples, a few
#   dozen optimizer steps and a handful of held-out responses, differences between the systems are within
#   seed-to-seed noise (rerun with another `seed` to see how much the numbers move). The image pool is clip art
#   (Tux Paint stamps) and the image encoder is a small offline stand-in for CLIP (ConSE + caption transfer), so the retrieved
#   "knowledge" is often only loosely related to the context. BLEU/ROUGE on a few responses are dominated by
#   single n-gram matches. ReSee's claims were measured with T5/UniLM backbones, CLIP features and full
#   DailyDialog/WoW; reproducing them needs that scale (a GPU and the research defaults).

# %% [markdown]
# ## Recorded values
# The notebook test reads these to check the run.

# %%
timings["total"] = time.perf_counter() - started
values = {
    "backbone": backbone,
    "seed": seed,
    "pool": pool_sources,
    "pool_images": len(pool),
    "dialogues": len(dialogues),
    "samples": {"total": len(samples), "train": len(train_samples), "test": len(test_samples)},
    "images_per_sample": {"turn": n_turn, "entity": n_ent},
    "steps": max_steps,
    "batch_size": batch_size,
    "trained_now": trained_now,
    "final_train_loss": {system: values[-1] for system, values in losses.items()},
    "first_train_loss": {system: values[0] for system, values in losses.items()},
    "metrics": {name: {**reports[name]["scores"], "held_out_loss": held_out_loss[name]} for name, _, _ in plan},
    "signatures": signatures,
    "metrics_table": metrics_table,
    "examples": [
        {
            "sample_id": s.sample_id,
            "context": s.context,
            "reference": s.response,
            "images": [k.image_id for k in (*s.turn_images, *s.entity_images)],
            **{name: responses[name][i] for name, _, _ in plan},
        }
        for i, s in enumerate(test_samples[:4])
    ],
    "probe": probe.to_dict(),
    "figures": ["training_loss.png"],
    "timings_s": {k: round(v, 2) for k, v in timings.items()},
}
(out / "values.json").write_text(json.dumps(values, indent=2))
{k: values[k] for k in ("samples", "steps", "trained_now", "final_train_loss", "timings_s")}
