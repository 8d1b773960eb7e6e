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
# # 03 · IMAD image augmentation
#
# IMAD (Moskvoretskii et al., 2023) turns text dialogues into multimodal ones by replacing some utterances with
# an image. **Stage 1** scores every utterance that has context: how well its best pool image matches
# (`image_score`), how well its nouns have images (`max_entity_score`, "a photo of a {noun}"), how close the
# best image's caption is (`sent_sim`, `bleu`); a rule (or a classifier) decides which utterances are
# replaceable. **Stage 2** retrieves the top-10 images of each replaceable utterance and keeps the one a VQA
# model finds most likely to be described by the utterance ("What phrase can describe this picture?").
#
# Here everything runs offline: the unified demo dataset of notebook 01, the pool and embeddings of notebook 02
# (Tux Paint stamps, or the pip-only fallback pool), the trained offline encoder with thresholds calibrated for it
# (`mmdial augment calibrate`, see the package README), pool captions for `sent_sim`/`bleu`, and SmolLM2-135M
# scoring the utterance given an image's caption in place of BLIP VQA.
#
# What to look at: the histograms (where do the thresholds cut?), the curves (how sensitive is the number of
# replacements to each threshold?), and the examples — is the chosen image something the utterance talks about?
# The plausibility check puts a number on that against random images.

# %% tags=["parameters"]
out_dir = "../reports/03_imad_augmentation"
cache_dir = "../datasets/cache/demo"  # pool and embeddings of notebook 02; augment runs are cached here too
dataset = "../reports/01_unify_datasets/dataset/data"  # unified demo dataset written by notebook 01
pool = "auto"  # "auto": {cache_dir}/pool (Tux Paint) if present, else {cache_dir}/pool-fallback; or a pool folder
encoder = "offline"
vqa_backend = "lm-caption"
limit = 50  # dialogues
seed = 0
tuxpaint_dir = "/usr/share/tuxpaint/stamps"

# %%
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pyarrow.parquet as pq
from IPython.display import HTML, Markdown, display
from PIL import Image

import mmdial_retrieval as mr
from mmdial_augment import AugmentConfig, AugmentPipeline
from mmdial_augment.plausibility import plausibility
from mmdial_augment.thresholds import thresholds_for

started = time.perf_counter()
out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)
cache = Path(cache_dir)
cache.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The image pool
# Shared with notebook 02: the same pool folder and the same embedding cache, so no image is embedded twice.
# Run standalone, this notebook builds the pool itself (Tux Paint when installed, else scikit-image photos).

# %%
if pool == "auto":
    pool_dir = next((cache / n for n in ("pool", "pool-fallback") if (cache / n / "pool.json").is_file()), None)
    if pool_dir is None:  # standalone: build the pool as notebook 02 does
        use_tuxpaint = Path(tuxpaint_dir).is_dir()
        pool_dir = cache / ("pool" if use_tuxpaint else "pool-fallback")
        rpool = mr.ImagePool.create(pool_dir, exist_ok=True)
        if use_tuxpaint:
            print(rpool.add_tuxpaint(tuxpaint_dir).summary())
        else:
            import skimage.data

            root = Path(skimage.data.__file__).parent
            rows = [
                json.loads(x) for x in Path("../datasets/fallback_pool/skimage_captions.jsonl").read_text().splitlines()
            ]
            captions_file = cache / "fallback_captions_skimage.jsonl"
            captions_file.write_text(
                "".join(json.dumps({"file": str(root / r["file"]), "caption": r["caption"]}) + "\n" for r in rows)
            )
            print(rpool.add_captions_file(captions_file, image_root="/").summary())
        rpool.save()
else:
    pool_dir = Path(pool)
rpool = mr.ImagePool.open(pool_dir)
pool_name = {
    "pool": "tuxpaint-stamps-default (Debian)",
    "pool-fallback": "fallback (pip-only: scikit-image photos + easy-VQA shapes)",
}.get(pool_dir.name, str(pool_dir))
display(Markdown(f"**Pool:** {pool_name} — `{pool_dir}`, {len(rpool)} images"))

# %% [markdown]
# ## Run the pipeline
# The run folder is keyed by the config's fingerprint under `{cache_dir}/augment-runs/`: a second execution finds
# every chunk finished and loads no model at all.

# %%
config = AugmentConfig.from_dict(
    {
        "inputs": [{"unified": str(Path(dataset).resolve())}],
        "pool": {"kind": "pool", "path": str(pool_dir.resolve())},
        "embedding_cache": str((cache / "embeddings").resolve()),
        "encoder": encoder,
        "sentence_encoder": "sentence",
        "captioner": {"backend": "pool-caption"},
        "vqa": {"backend": vqa_backend, "top_n": 10},
        "limit": limit,
        "seed": seed,
        "chunk_size": 25,
    }
)
pipeline = AugmentPipeline(config)
config.output_dir = str((cache / "augment-runs" / pipeline.fingerprint()).resolve())
pipeline = AugmentPipeline(config)
t0 = time.perf_counter()
result = pipeline.run()
run_seconds = time.perf_counter() - t0
rows = pq.read_table(result.features_path).to_pydict()
thresholds = thresholds_for(rows["encoder"][0] if rows["encoder"] else encoder, None, config.thresholds)
display(
    Markdown(
        f"{result.n_dialogues} dialogues → **{result.n_candidates}** candidate utterances → **{result.n_replaceable}** "
        f"replaceable (stage 1) → **{result.n_replaced}** replaced (stage 2) in {run_seconds:.1f} s; chunks computed "
        f"{result.chunks_computed}, reused {result.chunks_reused}. Thresholds: `{thresholds.to_dict()}`. "
        f"Report: `{result.report_path}`"
    )
)

# %% [markdown]
# ## Stage 1: feature histograms
# Dashed lines: the thresholds of the rule (all three must be exceeded). `max_entity_score` is 0 for utterances
# without a noun ("Sure!"), which the rule therefore never replaces.

# %%
names = ["image_score", "max_entity_score", "sent_sim", "bleu"]
fig, axes = plt.subplots(1, 4, figsize=(13, 2.8))
for ax, name in zip(axes, names, strict=True):
    vals = np.array(rows[name], dtype=float)
    ax.hist(vals, bins=20, color="#4c72b0")
    if name in thresholds.to_dict():
        ax.axvline(thresholds.to_dict()[name], color="crimson", ls="--", lw=1)
    ax.set_title(name, fontsize=9)
fig.tight_layout()
fig.savefig(out / "stage1_histograms.png", dpi=90)
plt.show()

# %% [markdown]
# ## Threshold curves
# How many utterances the rule flags as one threshold moves while the other two stay where they are. With a
# trained classifier (`decision: {rule: classifier}`) the same question is asked per IMAD cutoff preset; the
# package's report shows that curve for classifier runs.

# %%
feats = {k: np.array(rows[k], dtype=float) for k in thresholds.to_dict()}
fig, axes = plt.subplots(1, 3, figsize=(12, 2.8))
curves = {}
for ax, name in zip(axes, feats, strict=True):
    others = np.ones(len(feats[name]), bool)
    for o in feats:
        if o != name:
            others &= feats[o] > thresholds.to_dict()[o]
    cut = thresholds.to_dict()[name]
    grid = np.linspace(min(feats[name].min(initial=cut), cut) - 0.05, max(feats[name].max(initial=cut), cut), 60)
    counts = [int((others & (feats[name] > g)).sum()) for g in grid]
    curves[name] = counts
    ax.plot(grid, counts)
    ax.axvline(cut, color="crimson", ls="--", lw=1)
    ax.set_title(f"replaceable vs {name} cutoff", fontsize=9)
    ax.set_ylabel("utterances")
fig.tight_layout()
fig.savefig(out / "threshold_curves.png", dpi=90)
plt.show()

# %% [markdown]
# ## Decisions
# Where the utterances drop out: each threshold alone, all three (stage 1), and stage 2's choice.

# %%
passes = {name: int((feats[name] > thresholds.to_dict()[name]).sum()) for name in feats}
counts = {
    "candidates": result.n_candidates,
    "with a noun": sum(1 for n in rows["nouns"] if n),
    **{f"{k} > t": v for k, v in passes.items()},
    "replaceable": result.n_replaceable,
    "replaced": result.n_replaced,
}
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.barh(list(counts)[::-1], list(counts.values())[::-1], color="#55a868")
for i, v in enumerate(list(counts.values())[::-1]):
    ax.text(v, i, f" {v}", va="center", fontsize=8)
ax.set_xlabel("utterances")
fig.tight_layout()
fig.savefig(out / "decision_counts.png", dpi=90)
plt.show()

# %% [markdown]
# ## Examples
# Context (grey), the replaced utterance (bold), the chosen image with its VQA score (mean token log-probability
# of the utterance), and the runner-ups of the top-10 with theirs.


# %%
def show_image(ax, image_id, title):
    item = rpool.get(image_id)
    with Image.open(rpool.path_of(item)) as im:
        ax.imshow(im.convert("RGBA"))
    ax.set_title(title, fontsize=7)
    ax.axis("off")


replaced = [i for i, r in enumerate(rows["replaced"]) if r]
for i in replaced[:6]:
    ctx = "<br>".join(f"<span style='color:#777'>{t}</span>" for t in rows["context"][i][-3:])
    display(
        HTML(
            f"<p><code>{rows['dialogue_id'][i]}</code> turn {rows['turn_index'][i]}<br>{ctx}<br>"
            f"<b>{rows['utterance'][i]}</b> (nouns: {rows['nouns'][i]})</p>"
        )
    )
    order = np.argsort([-(s if s is not None else -np.inf) for s in rows["topn_vqa_scores"][i]])[:6]
    fig, axes = plt.subplots(1, len(order), figsize=(1.8 * len(order), 2.0))
    for ax, j in zip(np.atleast_1d(axes), order, strict=True):
        chosen = rows["topn_image_ids"][i][j] == rows["chosen_image_id"][i]
        show_image(
            ax,
            rows["topn_image_ids"][i][j],
            f"{'CHOSEN ' if chosen else ''}{rows['topn_vqa_scores'][i][j]:.2f}\n{rows['topn_captions'][i][j][:26]}",
        )
    fig.tight_layout()
    plt.show()
if not replaced:
    display(Markdown("No utterance was replaced with these thresholds."))

# %% [markdown]
# ## Are the chosen images plausible?
# The share of replacements where a noun of the utterance appears (as a lemma) in the chosen image's caption,
# against the same share for a random pool image (20 seeded draws). Captions are not ground truth, so this is a
# coarse, one-sided check: a noun match is a strong hint of a sensible image, no match does not prove a bad one.

# %%
pool_captions = [it.caption for it in rpool]
plaus = (
    plausibility(rows, pool_captions, seed=seed)
    if replaced
    else {"n": 0, "chosen_share": 0.0, "top1_share": 0.0, "random_share": 0.0}
)
fig, ax = plt.subplots(figsize=(5, 2.4))
bars = {
    "chosen (stage 2)": plaus["chosen_share"],
    "top-1 retrieved": plaus["top1_share"],
    "random image": plaus["random_share"],
}
ax.barh(list(bars)[::-1], list(bars.values())[::-1], color=["#c44e52", "#8172b2", "#4c72b0"])
ax.set_xlim(0, 1)
ax.set_xlabel(f"share with a noun of the utterance in the caption (n={plaus['n']})")
fig.tight_layout()
fig.savefig(out / "plausibility.png", dpi=90)
plt.show()
display(
    Markdown(
        f"Chosen: **{plaus['chosen_share']:.1%}**, top-1: {plaus['top1_share']:.1%}, random image: "
        f"**{plaus['random_share']:.1%}** over {plaus['n']} replacements."
    )
)

# %% [markdown]
# The package also writes a self-contained HTML report per run (histograms, curves, example grid); it is
# copied next to this notebook's figures.

# %%
if result.report_path is not None and Path(result.report_path).is_file():
    (out / "augment_report.html").write_text(Path(result.report_path).read_text(encoding="utf-8"), encoding="utf-8")
    display(Markdown("[augment_report.html](augment_report.html)"))

# %% [markdown]
# ## Recorded values

# %%
prov = json.loads((Path(config.output_dir) / "provenance.json").read_text())
values = {
    "dialogues": result.n_dialogues,
    "candidates": result.n_candidates,
    "replaceable": result.n_replaceable,
    "replaced": result.n_replaced,
    "plausibility_share": plaus["chosen_share"],
    "top1_share": plaus["top1_share"],
    "random_baseline": plaus["random_share"],
    "plausibility_n": plaus["n"],
    "encoder": rows["encoder"][0] if rows["encoder"] else encoder,
    "vqa_backend": next((v for v in rows["vqa_backend"] if v), vqa_backend),
    "pool": pool_name,
    "pool_images": len(rpool),
    "thresholds": thresholds.to_dict(),
    "chunks_computed": result.chunks_computed,
    "chunks_reused": result.chunks_reused,
    "embedded_now": (prov.get("pool") or {}).get("embeddings", {}).get("embedded_now"),
    "run_seconds": round(run_seconds, 2),
    "notebook_seconds": round(time.perf_counter() - started, 2),
}
(out / "values.json").write_text(json.dumps(values, indent=2))
values
