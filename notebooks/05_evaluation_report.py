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
# # 05 · Evaluation report
#
# Dialogue papers report BLEU, ROUGE, F1 and Distinct, but the same name gives different numbers in different
# libraries. `mmdial_metrics` names the variant of every metric and records each choice in a signature string
# (as sacrebleu does), so a table can be reproduced. Here we score simple reference systems on the unified demo
# dataset, plus the ReSee systems trained in notebook 04 when their predictions are there, with bootstrap
# confidence intervals, overall and per source.
#
# What to look at: the signatures (they are what a paper should print next to each number), how wide the
# intervals are on a demo-sized test set, and how different systems trade n-gram overlap against diversity.

# %% tags=["parameters"]
out_dir = "../reports/05_evaluation_report"
dataset = "../reports/01_unify_datasets/dataset/data"  # the unified demo dataset from notebook 01
fusion_dir = "../reports/04_resee_fusion"  # predictions/*.jsonl of notebook 04, if any
metrics = ["bleu", "nltk_bleu", "rougeL", "f1", "distinct_1", "distinct_2", "avg_length"]
n_bootstrap = 200
seed = 0

# %%
import json
import random
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

import mmdial_metrics as mm
from mmdial_data import read_dialogues
from mmdial_retrieval import get_encoder

out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)
dialogues = list(read_dialogues(dataset))
targets = [(d, t) for d in dialogues for t in d.turns[1:] if t.text.strip()]
display(Markdown(f"{len(dialogues)} dialogues, {len(targets)} response turns to predict (every turn after the first)."))

# %% [markdown]
# ## Reference systems
# - **echo**: repeat the previous turn (a lower bound that still shares words with the reference);
# - **random**: a response drawn from another dialogue (seeded);
# - **nearest-context**: the response that followed the most similar context in *another* dialogue, by MiniLM
#   cosine (a retrieval baseline, no training).

# %%
rng = random.Random(seed)
systems: dict[str, list[dict]] = {}
systems["echo"] = [
    {"dialogue_id": d.dialogue_id, "turn_index": t.turn_index, "prediction": d.turns[t.turn_index - 1].text}
    for d, t in targets
]
pool = [(d.dialogue_id, t.text) for d, t in targets]
systems["random"] = []
for d, t in targets:
    choice = rng.choice([text for did, text in pool if did != d.dialogue_id])
    systems["random"].append({"dialogue_id": d.dialogue_id, "turn_index": t.turn_index, "prediction": choice})
sentence = get_encoder("sentence")
contexts = sentence.encode_text([d.turns[t.turn_index - 1].text for d, t in targets])
sims = contexts @ contexts.T
owner = np.array([d.dialogue_id for d, _ in targets])
sims[owner[:, None] == owner[None, :]] = -np.inf
nearest = sims.argmax(axis=1)
systems["nearest-context"] = [
    {"dialogue_id": d.dialogue_id, "turn_index": t.turn_index, "prediction": targets[j][1].text}
    for (d, t), j in zip(targets, nearest, strict=False)
]
for path in sorted(Path(fusion_dir, "predictions").glob("*.jsonl")):
    systems[f"resee:{path.stem}"] = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
display(Markdown("Systems: " + ", ".join(f"`{s}` ({len(p)} predictions)" for s, p in systems.items())))

# %% [markdown]
# ## Scores with 95% bootstrap intervals
# Corpus-level diversity (Distinct) is biased downwards under resampling with replacement (duplicated responses
# look less diverse), so its interval is shown but should be read as a spread, not a coverage guarantee.

# %%
reports = {}
for name, preds in systems.items():
    # ReSee predictions only cover the test turns of each dialogue; score them against the same dataset.
    reports[name] = mm.evaluate_dialogues(preds, dialogues, metrics=metrics, n_bootstrap=n_bootstrap, seed=seed)
rows = ["| system | n | " + " | ".join(metrics) + " |", "|---|---:|" + "---:|" * len(metrics)]
metrics_table = []
for name, rep in reports.items():
    cells, flat = [], {"system": name}
    for m in metrics:
        s = rep["overall"][m]
        cells.append(f"{s['score']:.3f} [{s['low']:.3f}, {s['high']:.3f}]")
        flat[m] = float(s["score"])
    metrics_table.append(flat)
    rows.append(f"| {name} | {rep['n_predictions']} | " + " | ".join(cells) + " |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## Signatures: every choice that changes a number

# %%
first = next(iter(reports.values()))
display(
    Markdown(
        "\n".join(
            ["| metric | variant | signature |", "|---|---|---|"]
            + [f"| {m} | {info['description']} | `{info['signature']}` |" for m, info in first["metrics"].items()]
        )
    )
)

# %% [markdown]
# ## Per source
# The same system can look very different on task-oriented (SGD) and chit-chat (DailyDialog, PersonaChat) data.

# %%
sources = sorted(first["per_source"])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for ax, m in zip(axes, ["rougeL", "f1"], strict=False):
    width = 0.8 / len(reports)
    for i, (name, rep) in enumerate(reports.items()):
        vals = [rep["per_source"].get(s, {}).get(m, {}).get("score", np.nan) for s in sources]
        ax.bar(np.arange(len(sources)) + i * width, vals, width, label=name)
    ax.set_xticks(np.arange(len(sources)) + 0.4 - width / 2, sources)
    ax.set_title(m)
axes[0].legend(fontsize=7)
fig.tight_layout()
fig.savefig(out / "per_source.png", dpi=90)
plt.show()

# %% [markdown]
# ## The same word, different numbers
# sacrebleu's corpus BLEU (13a tokenizer, exp smoothing, 0-100) and nltk's corpus BLEU (whitespace tokens,
# no smoothing, 0-1) disagree on the same predictions; both are correct implementations of different variants.

# %%
variants = [
    (name, rep["overall"]["bleu"]["score"], 100 * rep["overall"]["nltk_bleu"]["score"]) for name, rep in reports.items()
]
display(
    Markdown(
        "\n".join(
            ["| system | sacrebleu BLEU | nltk BLEU x100 |", "|---|---:|---:|"]
            + [f"| {n} | {a:.2f} | {b:.2f} |" for n, a, b in variants]
        )
    )
)
(out / "evaluation.json").write_text(json.dumps(reports, indent=2, default=str))

# %% [markdown]
# ## Recorded values

# %%
values = {
    "systems": list(systems),
    "targets": len(targets),
    "metrics": metrics,
    "metrics_table": metrics_table,
    "signatures": {m: info["signature"] for m, info in first["metrics"].items()},
}
(out / "values.json").write_text(json.dumps(values, indent=2))
values
