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
# (as sacrebleu does), so a table can be reproduced. Here we score simple reference systems on **the same
# held-out responses** as the systems of notebook 04 (one response turn in each of its held-out dialogues of the
# experiment dataset), next to those systems, with bootstrap 95% intervals, overall and per source.
#
# What to look at: the signatures (they are what a paper should print next to each number), how wide the
# intervals are with a few hundred responses, and how the systems trade n-gram overlap against diversity.

# %% tags=["parameters"]
out_dir = "../reports/05_evaluation_report"
experiment_dataset = "../reports/01_unify_datasets/experiment/data"  # the experiment dataset of notebook 01
fusion_dir = "../reports/04_resee_fusion"  # test_turns.jsonl and predictions/*.jsonl of notebook 04, if any
metrics = ["bleu", "nltk_bleu", "rougeL", "f1", "distinct_1", "distinct_2", "avg_length"]
retrieval_pool = 2000  # nearest-context baseline: (context, response) pairs drawn from the training dialogues
n_bootstrap = 1000
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
dialogues = list(read_dialogues(experiment_dataset))
by_id = {d.dialogue_id: d for d in dialogues}
test_turns = Path(fusion_dir, "test_turns.jsonl")
if test_turns.is_file():  # notebook 04's held-out responses: the same set for every system
    keys = [json.loads(line) for line in test_turns.read_text().splitlines() if line.strip()]
    targets = [(by_id[k["dialogue_id"]], by_id[k["dialogue_id"]].turns[k["turn_index"]]) for k in keys]
    target_set = "notebook 04's held-out responses"
else:  # run on its own: every turn after the first
    targets = [(d, t) for d in dialogues for t in d.turns[1:] if t.text.strip()]
    target_set = "every turn after the first (notebook 04's held-out set not found)"
held_out = {d.dialogue_id for d, _ in targets}
display(
    Markdown(
        f"{len(dialogues)} dialogues; **{len(targets)} responses to predict** ({target_set}), in "
        f"{len(held_out)} dialogues."
    )
)

# %% [markdown]
# ## Reference systems
# - **echo**: repeat the previous turn (a lower bound that still shares words with the reference);
# - **random**: a response drawn from a dialogue outside the held-out set (seeded);
# - **nearest-context**: the response that followed the most similar previous turn in a training-side dialogue
#   (up to `retrieval_pool` seeded (context, response) pairs), by MiniLM cosine: a retrieval baseline, no training.

# %%
rng = random.Random(seed)
pairs = [
    (d.turns[i - 1].text, d.turns[i].text)
    for d in dialogues
    if d.dialogue_id not in held_out
    for i in range(1, len(d.turns))
    if d.turns[i].text.strip()
]
if not pairs:  # every dialogue is a target (notebook 04's set not found): other dialogues' turns, as before
    pairs = [(d.turns[t.turn_index - 1].text, t.text) for d, t in targets]
pairs = rng.sample(pairs, min(retrieval_pool, len(pairs)))
systems: dict[str, list[dict]] = {}


def row(d, t, prediction: str) -> dict:  # type: ignore[no-untyped-def]
    return {"dialogue_id": d.dialogue_id, "turn_index": t.turn_index, "prediction": prediction}


systems["echo"] = [row(d, t, d.turns[t.turn_index - 1].text) for d, t in targets]
systems["random"] = [row(d, t, rng.choice(pairs)[1]) for d, t in targets]
sentence = get_encoder("sentence")
queries = sentence.encode_text([d.turns[t.turn_index - 1].text for d, t in targets])
keys_emb = sentence.encode_text([c for c, _ in pairs])
sims = queries @ keys_emb.T
if not test_turns.is_file():  # the pool is the targets themselves: never a turn of the same dialogue
    owner = np.array([d.dialogue_id for d, _ in targets])
    sims[owner[:, None] == owner[None, :]] = -np.inf
nearest = sims.argmax(axis=1)
systems["nearest-context"] = [row(d, t, pairs[j][1]) for (d, t), j in zip(targets, nearest, strict=True)]
for path in sorted(Path(fusion_dir, "predictions").glob("*.jsonl")):
    systems[path.stem] = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
display(Markdown("Systems: " + ", ".join(f"`{s}` ({len(p)} predictions)" for s, p in systems.items())))

# %% [markdown]
# ## Scores with 95% bootstrap intervals
# Corpus-level diversity (Distinct) is biased downwards under resampling with replacement (duplicated responses
# look less diverse), so its interval is shown but should be read as a spread, not a coverage guarantee.

# %%
reports = {}
for name, preds in systems.items():
    # every system predicts the same turns (checked below); each is scored against the same dataset
    reports[name] = mm.evaluate_dialogues(preds, dialogues, metrics=metrics, n_bootstrap=n_bootstrap, seed=seed)
assert len({tuple(sorted((p["dialogue_id"], p["turn_index"]) for p in preds)) for preds in systems.values()}) == 1
rows = ["| system | n | " + " | ".join(metrics) + " |", "|---|---:|" + "---:|" * len(metrics)]
metrics_table = []
for name, rep in reports.items():
    cells, flat = [], {"system": name, "n": rep["n_predictions"]}
    for m in metrics:
        s = rep["overall"][m]
        cells.append(f"{s['score']:.3f} [{s['low']:.3f}, {s['high']:.3f}]")
        flat.update({m: float(s["score"]), f"{m}_low": float(s["low"]), f"{m}_high": float(s["high"])})
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
# The same system can look very different on task-oriented (SGD) and chit-chat data; here almost every held-out
# response is Chit-Chat, so the other bars rest on a handful of responses (or none).

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
    "target_set": target_set,
    "n_bootstrap": n_bootstrap,
    "retrieval_pool": len(pairs),
    "seed": seed,
    "metrics": metrics,
    "metrics_table": metrics_table,
    "signatures": {m: info["signature"] for m, info in first["metrics"].items()},
}
(out / "values.json").write_text(json.dumps(values, indent=2))
values
