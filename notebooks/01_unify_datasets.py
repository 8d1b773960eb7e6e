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
# # 01 · Unify dialogue datasets
#
# Every public dialogue dataset has its own file format. `mmdial_data` reads each one with a registered
# reader into **one schema** (a dialogue per row; turns with text, images and annotations; everything else
# kept in `meta`/`extra`), validates it, and builds Parquet shards with a data card and provenance.
#
# What to look at: the per-source table (are the counts what the source says?), the turn-length plot
# (DailyDialog and PersonaChat are chit-chat, SGD is task-oriented) and a dialogue rendered as a chat.
#
# Two datasets come out: the hand-written demo inputs (`recipe`, 8 dialogues, read by notebooks 02 and 03) and
# the **experiment dataset** of notebooks 04 and 05 (`experiment_recipe`): the same demo dialogues plus a seeded
# 26% subset of the 7,168 real Chit-Chat Challenge conversations that the PyPI package `chitchat-dataset`
# installs (the recipe's source `weight`, a hash of each dialogue id, so the subset does not depend on read order).

# %% tags=["parameters"]
recipe = "../datasets/recipes/demo.yaml"  # the shipped demo inputs; samples.yaml reads the real slices
experiment_recipe = "../datasets/recipes/demo_chitchat.yaml"  # demo + real chitchat-dataset conversations
out_dir = "../reports/01_unify_datasets"
show_id = "sgd/train/1_00000"

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mmdial_data import build_dataset, list_readers, read_dialogues
from mmdial_data.readers.chitchat import installed_path
from mmdial_data.stats import dataset_stats

out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The registered readers

# %%
display(Markdown("\n".join(f"- `{r.name}`: {r.description}" for r in list_readers())))

# %% [markdown]
# ## Build the dataset from the recipe
# The build streams every source through validation and filters into Parquet shards per split. Re-running
# it gives byte-identical files.

# %%
result = build_dataset(recipe, out / "dataset")
stats = dataset_stats(out / "dataset" / "data")
rows = ["| source/split | dialogues | turns | images | words |", "|---|---:|---:|---:|---:|"]
rows += [
    f"| {k} | {v['dialogues']} | {v['turns']} | {v['images']} | {v['words']} |" for k, v in stats["per_split"].items()
]
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## The experiment dataset: demo dialogues plus real Chit-Chat conversations
# The recipe names the installed `dataset.json` through `${MMDIAL_CHITCHAT}`, set here from the chitchat reader's
# `installed_path()`. Conversations with fewer than two turns (3,151 of the 7,168 have one) are filtered out.

# %%
os.environ.setdefault("MMDIAL_CHITCHAT", str(installed_path()))
experiment = build_dataset(experiment_recipe, out / "experiment")
experiment_stats = dataset_stats(out / "experiment" / "data")
rows = ["| source/split | dialogues | turns | words |", "|---|---:|---:|---:|"]
rows += [f"| {k} | {v['dialogues']} | {v['turns']} | {v['words']} |" for k, v in experiment_stats["per_split"].items()]
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## Turn lengths per source

# %%
lengths: dict[str, list[int]] = {}
for d in read_dialogues(out / "experiment" / "data"):
    lengths.setdefault(d.source, []).extend(len(t.text.split()) for t in d.turns)
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.boxplot(list(lengths.values()), tick_labels=list(lengths.keys()), orientation="horizontal")
ax.set_xlabel("words per turn")
fig.tight_layout()
fig.savefig(out / "turn_lengths_by_source.png", dpi=100)
plt.show()

# %% [markdown]
# ## One dialogue, as a chat
# Annotations (acts, intent, state, slot spans in `extra`) are folded under each turn.

# %%
dialogue = next(d for d in read_dialogues(out / "dataset" / "data") if d.dialogue_id == show_id)
dialogue

# %% [markdown]
# ## Recorded values
# The notebook test reads these to check the run.

# %%
values = {
    "dialogues": result.dialogues,
    "sources": sorted(result.counts),
    "turns": stats["total"]["turns"],
    "skipped": len(result.skipped),
    "experiment": {
        "recipe": Path(experiment_recipe).name,
        "dialogues": experiment.dialogues,
        "per_source": {src: sum(v["dialogues"] for v in splits.values()) for src, splits in experiment.counts.items()},
        "turns": experiment_stats["total"]["turns"],
        "skipped": len(experiment.skipped),
    },
}
(out / "values.json").write_text(json.dumps(values, indent=2))
values
