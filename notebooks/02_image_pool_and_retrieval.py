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
# # 02 · Image pool and retrieval
#
# IMAD augmentation and ReSee fusion both need the same thing: embed a captioned image pool once, then find
# images for utterances and entities. Here we build the pool (Debian's Tux Paint stamps where installed,
# otherwise a pip-only fallback of scikit-image photos and easy-VQA shapes), embed it with the **offline**
# encoder, index it with faiss, and measure text->image retrieval with each caption as the query.
#
# The offline encoder (`mmdial_retrieval.trained_encoder`, no downloads) mixes ConSE (EfficientNet-Lite0
# ImageNet class probabilities -> MiniLM class-name embeddings) with caption transfer from ~11.5k openly licensed
# captioned images (openclipart, Noto emoji, DejaVu glyphs, easy-vqa's train split; `mmdial retrieval
# train-encoder`). Tux Paint was never
# part of its training data: on that pool this notebook is a held-out evaluation, next to the training-free
# ConSE encoder (`conse`) and chance.
#
# What to look at: how far above chance and above ConSE Recall@k is (with 95% intervals), where the gain comes
# from (symbol stamps vs the rest), and whether images of one category now sit closer than images of different
# ones (ConSE's embeddings are nearly collapsed).

# %% tags=["parameters"]
out_dir = "../reports/02_image_pool_and_retrieval"
cache_dir = "../datasets/cache/demo"  # pool, embeddings and index, shared with notebooks 03 and 04
pool_source = "auto"  # "tuxpaint", "fallback" or "auto" (tuxpaint when installed)
encoder_name = "offline"
baseline_encoder = "conse"  # the training-free encoder it is compared with
tuxpaint_dir = "/usr/share/tuxpaint/stamps"
easy_vqa_images = 300  # images taken from easy-VQA for the fallback pool
queries = ["a cat", "a red car", "a birthday cake", "a dog playing in the park", "a cup of coffee"]

# %%
import json
import random
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from PIL import Image

import mmdial_retrieval as mr

out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)
cache = Path(cache_dir)
cache.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The pool
# A pool is a folder (`pool.json` + `items.jsonl`) of content-hashed images with captions. Problems (unreadable
# files, duplicates, images without caption) are listed, never silently dropped.

# %%
use_tuxpaint = pool_source == "tuxpaint" or (pool_source == "auto" and Path(tuxpaint_dir).is_dir())
pool_name = (
    "tuxpaint-stamps-default (Debian)" if use_tuxpaint else "fallback: scikit-image photos + easy-VQA shapes (PyPI)"
)
pool_dir = cache / ("pool" if use_tuxpaint else "pool-fallback")
pool = mr.ImagePool.create(pool_dir, exist_ok=True)
if not len(pool):
    if use_tuxpaint:
        report = pool.add_tuxpaint(tuxpaint_dir)
    else:
        import easy_vqa
        import skimage.data

        rows = [
            json.loads(line)
            for line in Path("../datasets/fallback_pool/skimage_captions.jsonl").read_text().splitlines()
        ]
        skimage_root = Path(skimage.data.__file__).parent
        questions, answers, image_ids = easy_vqa.get_train_questions()
        paths = easy_vqa.get_train_image_paths()
        shapes: dict[int, dict[str, str]] = {}
        for q, a, i in zip(questions, answers, image_ids, strict=False):
            if q.startswith("what is the ") and q.endswith(" shape?"):
                shapes.setdefault(i, {})["colour"] = q[len("what is the ") : -len(" shape?")]
                shapes[i]["shape"] = a
        chosen = sorted(i for i, s in shapes.items() if {"colour", "shape"} <= set(s))[:easy_vqa_images]
        captions_file = cache / "fallback_captions.jsonl"
        with captions_file.open("w") as fh:
            for r in rows:
                fh.write(json.dumps({"file": str(skimage_root / r["file"]), "caption": r["caption"]}) + "\n")
            for i in chosen:
                fh.write(
                    json.dumps({"file": paths[i], "caption": f"a {shapes[i]['colour']} {shapes[i]['shape']}"}) + "\n"
                )
        report = pool.add_captions_file(captions_file, image_root="/")
    pool.save()
    print(report.summary())
pool = mr.ImagePool.open(pool_dir)
problems = {}
for p in pool.problems:
    problems[p.kind] = problems.get(p.kind, 0) + 1
display(Markdown(f"**Pool:** {pool_name} — {len(pool)} images; problems: {problems or 'none'}"))

# %%
sample = random.Random(0).sample(list(pool), k=min(12, len(pool)))
fig, axes = plt.subplots(2, 6, figsize=(12, 4.4))
for ax, item in zip(axes.flat, sample, strict=False):
    with Image.open(pool.path_of(item)) as im:
        ax.imshow(im.convert("RGBA"))
    ax.set_title((item.caption or "")[:28], fontsize=7)
    ax.axis("off")
fig.suptitle(f"A random sample of the pool ({pool_name})", fontsize=9)
fig.tight_layout()
fig.savefig(out / "pool_sample.png", dpi=90)
plt.show()

# %% [markdown]
# ## Embed once, index, search
# The embedding cache is keyed by (encoder id, image hash) and written in atomic shards: a second run of this
# notebook embeds nothing.

# %%
encoder = mr.get_encoder(encoder_name)
embeddings = mr.embed_pool(pool, encoder, mr.EmbeddingCache(cache / "embeddings"), batch_size=32)
print(
    f"{encoder.encoder_id}: {len(embeddings.ids)} vectors of dim {embeddings.vectors.shape[1]} "
    f"({embeddings.embedded_now} embedded now, {embeddings.from_cache} from cache, {len(embeddings.failed)} failed)"
)
index = mr.VectorIndex.from_embeddings(embeddings, captions=pool.captions(embeddings.ids))  # records the encoder id
print(index)
index.save(cache / ("index" if use_tuxpaint else "index-fallback"))

# %%
retriever = mr.Retriever(encoder, index)
hits = retriever.search_text(queries, k=4)
fig, axes = plt.subplots(len(queries), 4, figsize=(9, 2.3 * len(queries)))
for row, query in enumerate(queries):
    for col in range(4):
        ax = axes[row, col]
        item = pool.get(hits.ids[row][col])
        with Image.open(pool.path_of(item)) as im:
            ax.imshow(im.convert("RGBA"))
        ax.set_title(f"{hits.scores[row][col]:.3f} {(item.caption or '')[:24]}", fontsize=7)
        ax.axis("off")
    axes[row, 0].text(-0.1, 0.5, query, transform=axes[row, 0].transAxes, ha="right", va="center", fontsize=9)
fig.suptitle("Top-4 images per query (cosine score, caption)", fontsize=9)
fig.tight_layout()
fig.savefig(out / "search_examples.png", dpi=90)
plt.show()

# %% [markdown]
# ## How good is retrieval? Captions as queries
# Recall@k: the share of captions whose own image is among the top k; random ranking as the reference.

# %%
scores = mr.evaluate_pool(pool, encoder, mr.EmbeddingCache(cache / "embeddings"))
n = scores.images
random_ref = {
    "R@1": 1 / n,
    "R@5": min(5, n) / n,
    "R@10": min(10, n) / n,
    "MRR": float(np.mean([1 / r for r in range(1, n + 1)])),
}
table = [
    "| ranking | queries | R@1 | R@5 | R@10 | MRR |",
    "|---|---:|---:|---:|---:|---:|",
    f"| {encoder.encoder_id} | {scores.queries} | {scores.recall_at_1:.4f} | {scores.recall_at_5:.4f} | "
    f"{scores.recall_at_10:.4f} | {scores.mrr:.4f} |",
    f"| random | {scores.queries} | {random_ref['R@1']:.4f} | {random_ref['R@5']:.4f} | {random_ref['R@10']:.4f} | "
    f"{random_ref['MRR']:.4f} |",
]
display(Markdown("\n".join(table)))
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(scores.ranks, bins=50, color="#4c72b0")
ax.set_xlabel("rank of the caption's own image")
ax.set_ylabel("captions")
fig.tight_layout()
fig.savefig(out / "caption_ranks.png", dpi=90)
plt.show()

# %% [markdown]
# ## Against the training-free encoder, with intervals
# Both encoders on the same gallery and queries; 95% bootstrap intervals over queries (1,000 resamples);
# chance = a random ranking. Symbol stamps (letters, digits, money, maths, chess, music) are scored apart:
# font glyphs are part of the trained encoder's training data, so that is where it gains most. Geometry: mean
# cosine between images of the same top-level category folder and of different ones.

# %%
from mmdial_retrieval.evaluate import category_geometry, chance_scores, rank_intervals, retrieval_scores

captioned = [it for it in pool.items if it.caption]
folders = [it.uri.split("/")[0] if use_tuxpaint else (it.caption or "").split()[-1] for it in captioned]
is_symbol = np.asarray([f == "symbols" for f in folders])
comparison = {}
for name in dict.fromkeys([encoder_name, baseline_encoder]):
    enc = mr.get_encoder(name)
    emb = mr.embed_pool(pool, enc, mr.EmbeddingCache(cache / "embeddings"), batch_size=32, progress=False)
    row = {image_id: i for i, image_id in enumerate(emb.ids)}
    vecs = emb.vectors[[row[it.image_id] for it in captioned]]
    ranks = np.asarray(
        retrieval_scores(enc.encode_text([it.caption for it in captioned]), vecs, list(range(len(captioned)))).ranks
    )
    comparison[name] = {
        "encoder_id": enc.encoder_id,
        "all": rank_intervals(ranks.tolist()),
        "symbols_r10": float(np.mean(ranks[is_symbol] <= 10)) if is_symbol.any() else None,
        "other_r10": float(np.mean(ranks[~is_symbol] <= 10)),
        "geometry": category_geometry(vecs, folders),
    }
chance = chance_scores(len(captioned))
rows = [
    "| encoder | R@1 | R@5 | R@10 | MRR | R@10 symbols / other | within − between cosine |",
    "|---|---|---|---|---|---|---|",
]
for c in comparison.values():
    cells = " | ".join(f"{v['score']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for v in c["all"].values())
    sym = "–" if c["symbols_r10"] is None else f"{c['symbols_r10']:.3f}"
    g = c["geometry"]
    rows.append(
        f"| {c['encoder_id']} | {cells} | {sym} / {c['other_r10']:.3f} | {g['within']:.3f} − {g['between']:.3f} = **{g['gap']:.3f}** |"
    )
rows.append(
    "| chance | "
    + " | ".join(f"{chance[k]:.3f}" for k in ("recall_at_1", "recall_at_5", "recall_at_10", "mrr"))
    + " | | 0 |"
)
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## Entities: what IMAD and ReSee look up
# IMAD scores lemmatized nouns with the prompt "a photo of a {noun}"; ReSee retrieves entity-level images.

# %%
utterance = "We took the kids to the zoo and they loved the elephants and the ice cream."
nouns = mr.extract_nouns(utterance)
entity_hits = retriever.search_text(mr.entity_prompts(nouns), k=1) if nouns else None
display(
    Markdown(
        f"Nouns of *{utterance}*: {nouns}<br>"
        + "<br>".join(
            f"`a photo of a {noun}` -> {entity_hits.captions[i][0]!r} ({entity_hits.scores[i][0]:.3f})"
            for i, noun in enumerate(nouns)
        )
        if entity_hits
        else "no nouns"
    )
)

# %% [markdown]
# ## Recorded values

# %%
values = {
    "pool": pool_name,
    "pool_size": len(pool),
    "embedded": len(embeddings.ids),
    "embedded_now": embeddings.embedded_now,
    "failed": len(embeddings.failed),
    "encoder": encoder.encoder_id,
    "retrieval": scores.to_dict(),
    "random_recall_at_10": random_ref["R@10"],
    "comparison": comparison,
    "chance": chance,
    "nouns": nouns,
}
(out / "values.json").write_text(json.dumps(values, indent=2))
values
