"""The HTML report of a run: counts, score histograms, threshold curves, plausibility, example grid.

Self-contained (figures and thumbnails inlined as base64 PNG). Threshold curves: with a classifier, the number
of replaceable utterances per cutoff preset (IMAD's 8 presets); with the threshold rule, the number flagged
as each threshold moves while the other two stay fixed.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_augment.config import CUTOFF_PRESETS, AugmentConfig
from mmdial_augment.decision import replacements_per_preset
from mmdial_augment.thresholds import thresholds_for

if TYPE_CHECKING:
    from mmdial_augment.pool import ImagePool
    from mmdial_data import Dialogue


def _fig_to_img(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _thumb(path: str | None, size: int = 96) -> str:
    if not path or not os.path.isfile(path):
        return '<div class="missing">image missing</div>'
    try:
        from PIL import Image

        from mmdial_retrieval.images import load_rgb

        im = load_rgb(path)
        im.thumbnail((size, size), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="PNG")
    except Exception:  # a broken file must not break the report
        return '<div class="missing">unreadable</div>'
    return f'<img class="thumb" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def histograms(rows: dict[str, list[Any]], thresholds: dict[str, float]) -> str:
    """One histogram per score, threshold lines where the rule has one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["image_score", "max_entity_score", "sent_sim", "bleu", "probability", "chosen_score"]
    names = [n for n in names if any(v is not None for v in rows.get(n, []))]
    if not names:
        return "<p>No scores.</p>"
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.6))
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        vals = np.array([v for v in rows[name] if v is not None], dtype=float)
        ax.hist(vals, bins=30, color="#4a7ab5")
        if name in thresholds:
            ax.axvline(thresholds[name], color="crimson", ls="--", lw=1)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    return _fig_to_img(fig)


def threshold_curves(rows: dict[str, list[Any]], thresholds: dict[str, float]) -> str:
    """Replacements per cutoff preset (classifier) or per threshold value (rule)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probs = [p for p in rows.get("probability", []) if p is not None]
    parts = []
    if probs:
        counts = replacements_per_preset(np.array(probs))
        fig, ax = plt.subplots(figsize=(4.5, 2.8))
        keys = sorted(counts)
        ax.plot(keys, [counts[k] for k in keys], marker="o")
        ax.set_xlabel("cutoff preset (probability)")
        ax.set_xticks(keys, [f"{k}\n{CUTOFF_PRESETS[k]:.3f}" for k in keys], fontsize=7)
        ax.set_ylabel("replaceable utterances")
        parts.append(_fig_to_img(fig))
        parts.append(
            "<table><tr><th>preset</th><th>cutoff</th><th>replaceable</th></tr>"
            + "".join(f"<tr><td>{k}</td><td>{CUTOFF_PRESETS[k]:.4f}</td><td>{counts[k]}</td></tr>" for k in keys)
            + "</table>"
        )
    if rows.get("image_score"):
        feats = {k: np.array(rows[k], dtype=float) for k in thresholds}
        fig, axes = plt.subplots(1, 3, figsize=(10, 2.6))
        for ax, name in zip(axes, thresholds, strict=True):
            others = np.ones(len(feats[name]), bool)
            for o in thresholds:
                if o != name:
                    others &= feats[o] > thresholds[o]
            grid = np.linspace(min(feats[name].min(), thresholds[name]), max(feats[name].max(), thresholds[name]), 50)
            ax.plot(grid, [int((others & (feats[name] > g)).sum()) for g in grid])
            ax.axvline(thresholds[name], color="crimson", ls="--", lw=1)
            ax.set_title(f"flagged vs {name} threshold", fontsize=9)
            ax.tick_params(labelsize=7)
        parts.append(_fig_to_img(fig))
    return "\n".join(parts) or "<p>No candidates.</p>"


def example_grid(rows: dict[str, list[Any]], image_root: str | None, n: int, context_turns: int = 3) -> str:
    """Up to ``n`` replaced utterances: context, utterance, chosen image, runner-ups with VQA scores."""
    idx = [i for i, r in enumerate(rows.get("replaced", [])) if r][:n]
    if not idx:
        return "<p>No replacement.</p>"

    def path(uri: str | None) -> str | None:
        return None if uri is None or image_root is None else str(Path(image_root) / uri)

    cards = []
    for i in idx:
        ctx = "".join(f"<div class='ctx'>{html.escape(t)}</div>" for t in rows["context"][i][-context_turns:])
        runners = []
        for uri, cap, s in zip(rows["topn_uris"][i], rows["topn_captions"][i], rows["topn_vqa_scores"][i], strict=True):
            if uri == rows["chosen_uri"][i]:
                continue
            score = "skipped" if s is None else f"{s:.3f}"
            runners.append(
                f"<figure>{_thumb(path(uri), 56)}<figcaption>{html.escape(cap or '')}<br>{score}</figcaption></figure>"
            )
        cards.append(
            f"<div class='card'><div class='meta'>{html.escape(rows['dialogue_id'][i])} · turn "
            f"{rows['turn_index'][i]}</div>{ctx}<div class='utt'>{html.escape(rows['utterance'][i])}</div>"
            f"<figure class='chosen'>{_thumb(path(rows['chosen_uri'][i]))}<figcaption>"
            f"{html.escape(rows['chosen_caption'][i] or '')}<br>VQA {rows['chosen_score'][i]:.3f}</figcaption>"
            f"</figure><div class='runners'>{''.join(runners)}</div></div>"
        )
    return "<div class='grid'>" + "".join(cards) + "</div>"


_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1300px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}.grid{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #ccc;border-radius:6px;padding:8px;width:380px;font-size:12px}.ctx{color:#666}
.utt{font-weight:bold;margin:4px 0}.meta{color:#999;font-size:11px}figure{display:inline-block;margin:2px;
text-align:center;font-size:10px;max-width:110px}.runners figure{max-width:70px}.missing{width:56px;height:56px;
background:#eee;font-size:9px}"""


def write_report(
    path: str | os.PathLike[str],
    rows: dict[str, list[Any]],
    dialogues: list[Dialogue] | None,
    config: AugmentConfig,
    *,
    pool: ImagePool | None = None,
    summary: dict[str, Any] | None = None,
    image_root: str | None = None,
) -> Path:
    """Write the HTML report of a run and return its path."""
    from mmdial_augment.io_utils import atomic_write_text

    encoder_id = (rows.get("encoder") or [config.encoder])[0]
    thresholds = thresholds_for(encoder_id, None, config.thresholds).to_dict()
    image_root = image_root or (pool.root if pool is not None else config.pool.path)
    summary = dict(summary or {})
    plaus = ""
    p = summary.get("plausibility")
    if p is None and pool is not None and any(rows.get("replaced", [])):
        from mmdial_augment.plausibility import plausibility

        p = plausibility(rows, pool.captions, seed=config.seed)
    if p:
        plaus = (
            f"<h2>Plausibility</h2><p>Replacements where a noun of the utterance appears in the caption of "
            f"the chosen image: <b>{p['chosen_share']:.1%}</b> (n={p['n']}); top-1 retrieved image: "
            f"{p['top1_share']:.1%}; random pool image (chance level): <b>{p['random_share']:.1%}</b>.</p>"
        )
    vqa = next((v for v in rows.get("vqa_backend", []) if v), config.vqa.backend)
    head = {
        "dialogues": summary.get("n_dialogues", len(dialogues) if dialogues is not None else "?"),
        "candidate utterances": len(rows.get("utterance", [])),
        "replaceable (stage 1)": int(sum(rows.get("replaceable", []))),
        "replaced (stage 2)": int(sum(rows.get("replaced", []))),
        "encoder": encoder_id,
        "thresholds": json.dumps({k: round(v, 4) for k, v in thresholds.items()}),
        "decision": config.decision.rule
        if config.decision.rule == "threshold"
        else f"classifier {config.decision.classifier} cutoff {config.decision.cutoff}",
        "captioner": config.captioner.backend,
        "VQA backend": vqa,
        "top-N": config.vqa.top_n,
        "min_confidence": config.vqa.min_confidence,
        "image pool": f"{config.pool.kind}: {image_root}",
    }
    skipped = summary.get("skipped") or []
    body = [
        "<h1>IMAD augmentation report</h1>",
        "<table>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in head.items())
        + "</table>",
        plaus,
        "<h2>Score histograms</h2>",
        histograms(rows, thresholds),
        "<h2>Threshold curves</h2>",
        threshold_curves(rows, thresholds),
        "<h2>Examples</h2>",
        example_grid(rows, image_root, config.report_examples),
        f"<h2>Skipped ({len(skipped)})</h2><ul>"
        + "".join(f"<li>{html.escape(s)}</li>" for s in skipped[:200])
        + "</ul>",
    ]
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>IMAD report</title><style>{_CSS}</style>"
        f"</head><body>{''.join(body)}</body></html>"
    )
    atomic_write_text(path, doc)
    return Path(path)
