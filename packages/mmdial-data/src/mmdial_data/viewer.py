"""Rendering dialogues for people: HTML for notebooks (``Dialogue._repr_html_``) and text for the CLI.

Turns are laid out by role, annotations are folded under each turn, and images that resolve under the
image root (:func:`set_image_root`, ``MMDIAL_IMAGE_ROOT``, or the ``image_root`` argument) are inlined as
thumbnails; images that do not resolve show their id, caption and the reason.

Example:
    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue("demo/train/1", "demo", "train", [Turn(0, "A", "user", "a <b>bold</b> claim")])
    >>> "a &lt;b&gt;bold&lt;/b&gt; claim" in render_dialogue_html(d)
    True
    >>> print(render_dialogue_text(d))
    demo/train/1  (source demo, split train, 1 turns)
      [0] A (user): a <b>bold</b> claim
"""

from __future__ import annotations

import base64
import html
import io
import json
import mimetypes
import os
from pathlib import Path
from typing import TYPE_CHECKING

from mmdial_data.errors import ImagePathError
from mmdial_data.images import resolve_image_path

if TYPE_CHECKING:
    from mmdial_data.schema import Dialogue, ImageRef, Turn

_IMAGE_ROOT: Path | None = None
THUMBNAIL_PX = 160

_CSS = """<style>
.mmdial{font-family:system-ui,sans-serif;font-size:13px;max-width:760px}
.mmdial .hd{color:#555;margin-bottom:6px}
.mmdial .t{margin:4px 0;padding:6px 9px;border-radius:9px;max-width:80%;background:#eef2f7}
.mmdial .r-system,.mmdial .r-speaker_b{margin-left:auto;background:#e3f4e8}
.mmdial .sp{font-size:11px;color:#666}
.mmdial img{max-width:160px;max-height:160px;display:block;margin-top:4px;border-radius:4px}
.mmdial details{font-size:11px;color:#444}
.mmdial .miss{font-size:11px;color:#a33}
</style>"""


def set_image_root(root: str | os.PathLike[str] | None) -> None:
    """Set the folder that image URIs are resolved under for notebook display (None to unset)."""
    global _IMAGE_ROOT
    _IMAGE_ROOT = None if root is None else Path(root)


def _current_root(image_root: str | os.PathLike[str] | None) -> Path | None:
    if image_root is not None:
        return Path(image_root)
    if _IMAGE_ROOT is not None:
        return _IMAGE_ROOT
    env = os.environ.get("MMDIAL_IMAGE_ROOT")
    return Path(env) if env else None


def _thumbnail_data_uri(path: Path) -> str:
    try:
        from PIL import Image

        with Image.open(path) as im:
            im.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            buf = io.BytesIO()
            im.convert("RGBA").save(buf, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    except ImportError:
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def _image_html(image: ImageRef, root: Path | None) -> str:
    label = html.escape(image.caption or image.image_id)
    title = html.escape(
        f"{image.level} image {image.image_id}" + (f" (score {image.score:.3f})" if image.score is not None else "")
    )
    if root is not None:
        try:
            uri = _thumbnail_data_uri(resolve_image_path(image.uri, root))
            return f'<img src="{uri}" alt="{label}" title="{title}"><div class="sp">{label}</div>'
        except (ImagePathError, OSError) as exc:
            reason = html.escape(str(exc))
            return f'<div class="miss" title="{title}">[image {html.escape(image.image_id)}: {reason}]</div>'
    return f'<div class="sp" title="{title}">[image: {label}]</div>'


def _annotations_html(turn: Turn) -> str:
    a = turn.annotations
    parts = []
    if a.dialogue_acts:
        parts.append(
            "acts: "
            + ", ".join(a_.act + (f"({a_.slot}={'|'.join(a_.values)})" if a_.slot else "") for a_ in a.dialogue_acts)
        )
    if a.emotion:
        parts.append(f"emotion: {a.emotion}")
    if a.intent:
        parts.append(f"intent: {a.intent}")
    if a.state:
        parts.append("state: " + "; ".join(f"{k}={'|'.join(v)}" for k, v in a.state.items()))
    if a.knowledge:
        parts.append("knowledge: " + " / ".join(a.knowledge))
    if a.extra:
        parts.append("extra: " + json.dumps(a.extra, ensure_ascii=False)[:2000])
    if not parts:
        return ""
    body = "<br>".join(html.escape(p) for p in parts)
    return f"<details><summary>annotations</summary>{body}</details>"


def render_dialogue_html(d: Dialogue, image_root: str | os.PathLike[str] | None = None) -> str:
    """An HTML rendering of ``d``: turns by role, folded annotations, inline image thumbnails."""
    root = _current_root(image_root)
    out = [
        _CSS,
        '<div class="mmdial">',
        f'<div class="hd"><b>{html.escape(d.dialogue_id)}</b> · {html.escape(d.source)} · '
        f"{html.escape(d.split)} · {len(d.turns)} turns</div>",
    ]
    if d.meta:
        meta = html.escape(json.dumps(d.meta, ensure_ascii=False, indent=1)[:4000])
        out.append(f"<details><summary>meta</summary><pre>{meta}</pre></details>")
    for t in d.turns:
        images = "".join(_image_html(i, root) for i in t.images)
        out.append(
            f'<div class="t r-{html.escape(t.role)}"><div class="sp">{html.escape(t.speaker)} · {html.escape(t.role)}'
            f"</div>{html.escape(t.text)}{images}{_annotations_html(t)}</div>"
        )
    out.append("</div>")
    return "".join(out)


def render_dialogue_text(d: Dialogue) -> str:
    """A plain-text rendering of ``d`` for terminals."""
    lines = [f"{d.dialogue_id}  (source {d.source}, split {d.split}, {len(d.turns)} turns)"]
    for t in d.turns:
        lines.append(f"  [{t.turn_index}] {t.speaker} ({t.role}): {t.text}")
        for img in t.images:
            lines.append(
                f"      image {img.image_id} [{img.level}] {img.uri}" + (f" - {img.caption}" if img.caption else "")
            )
        a = t.annotations
        labels = [*(x.act + (f"({x.slot})" if x.slot else "") for x in a.dialogue_acts)]
        if a.emotion:
            labels.append(f"emotion={a.emotion}")
        if a.intent:
            labels.append(f"intent={a.intent}")
        if labels:
            lines.append("      " + " ".join(labels))
    return "\n".join(lines)
