"""Instruction records for training: one JSON object per example, per task the data supports.

Record: ``task``, ``instruction`` (one of the task's paraphrases in ``templates/instructions.yaml``, chosen
by a seeded hash of task, dialogue id and turn, so the choice does not depend on order), ``input`` (the
dialogue history as ``role: text`` lines, images as ``[image: caption]``, plus the task's knowledge,
persona, caption ...), ``output``, ``images`` (image URIs the example refers to), ``source``,
``dialogue_id``, ``turn_index``, ``template_id``. Tasks and what they need:

- ``response_generation``: every turn after the first (text output).
- ``knowledge_grounded_response``: turns with ``annotations.knowledge`` (the first turn too).
- ``persona_grounded_response``: system turns of dialogues with ``meta["personas"]``.
- ``dialogue_state_tracking``: turns with a non-empty ``state``.
- ``intent_detection``: turns with ``annotations.intent``.
- ``dialogue_act_classification``: turns with dialogue acts.
- ``emotion_detection``: turns with ``annotations.emotion``.
- ``photo_sharing_intent``: turns before and at the first photo of a PhotoChat dialogue (yes/no: is a photo next).
- ``image_grounded_qa``: answers of VisDial rounds (caption, history and question in, answer out).
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from mmdial_data.exports import iter_input
from mmdial_data.recipe import stable_fraction
from mmdial_data.registry import Registry
from mmdial_data.schema import Dialogue, Turn, dump_json

#: Maximum history turns put into an input.
MAX_HISTORY = 12


@lru_cache(maxsize=1)
def load_templates() -> dict[str, Any]:
    """The packaged instruction templates (``mmdial_data/templates/instructions.yaml``).

    >>> t = load_templates()
    >>> len(t["tasks"]["response_generation"]["instructions"]) >= 3
    True
    """
    import yaml

    text = resources.files("mmdial_data").joinpath("templates/instructions.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    for name, task in data["tasks"].items():
        if len(task.get("instructions", [])) < 2:
            raise ValueError(f"instruction templates: task {name!r} needs several paraphrases")
    return data


def list_tasks() -> list[str]:
    """Names of the instruction tasks.

    >>> "image_grounded_qa" in list_tasks()
    True
    """
    return list(load_templates()["tasks"])


def _line(t: Turn) -> str:
    parts = [t.text] if t.text else []
    parts += [f"[image: {i.caption or i.image_id}]" for i in t.images]
    return f"{t.role}: {' '.join(parts)}"


def _history(d: Dialogue, end: int) -> str:
    return "\n".join(_line(t) for t in d.turns[max(0, end - MAX_HISTORY) : end])


def _images(d: Dialogue, end: int) -> list[str]:
    return [i.uri for t in d.turns[:end] for i in t.images]


def _acts(t: Turn) -> str:
    out = []
    for a in t.annotations.dialogue_acts:
        name = f"{a.domain}-{a.act}" if a.domain else a.act
        args = f"{a.slot}={'|'.join(a.values)}" if a.slot else ""
        out.append(f"{name}({args})" if args else name)
    return "; ".join(out)


def applies(task: Mapping[str, Any], source: str) -> bool:
    """Whether a task's template applies to dialogues of ``source``: its ``sources`` list, when it has one.

    >>> applies({"sources": ["visdial"]}, "visdial"), applies({"sources": ["visdial"]}, "sgd"), applies({}, "sgd")
    (True, False, True)
    """
    sources = task.get("sources")
    return sources is None or source in sources


def _examples(d: Dialogue, tasks: set[str]) -> Iterator[tuple[str, int, str, str, list[str]]]:
    """(task, turn index, input, output, images) of one dialogue; ``tasks`` are those that apply to its source."""
    personas = d.meta.get("personas") if isinstance(d.meta.get("personas"), dict) else None
    first_photo = next((i for i, t in enumerate(d.turns) if t.images), None)
    for i, t in enumerate(d.turns):
        history = _history(d, i)
        with_turn = _history(d, i + 1)
        ann = t.annotations
        if i > 0 and t.text:
            if "response_generation" in tasks:
                yield "response_generation", i, history, t.text, _images(d, i)
            if "persona_grounded_response" in tasks and personas and t.role == "system" and personas.get("self"):
                persona = "\n".join(f"- {p}" for p in personas["self"])
                yield "persona_grounded_response", i, f"Persona:\n{persona}\n\nDialogue:\n{history}", t.text, []
        if "knowledge_grounded_response" in tasks and ann.knowledge and t.text:  # the first turn too
            knowledge = "\n".join(f"- {k}" for k in ann.knowledge)
            yield "knowledge_grounded_response", i, f"Knowledge:\n{knowledge}\n\nDialogue:\n{history}", t.text, []
        if "dialogue_state_tracking" in tasks and ann.state:
            state = "; ".join(f"{k}={'|'.join(v)}" for k, v in sorted(ann.state.items()))
            yield "dialogue_state_tracking", i, with_turn, state, []
        if "intent_detection" in tasks and ann.intent:
            yield "intent_detection", i, with_turn, ann.intent, []
        if "dialogue_act_classification" in tasks and ann.dialogue_acts:
            yield "dialogue_act_classification", i, with_turn, _acts(t), []
        if "emotion_detection" in tasks and ann.emotion:
            yield "emotion_detection", i, with_turn, ann.emotion, []
        if "photo_sharing_intent" in tasks and first_photo is not None and 0 < i <= first_photo:
            yield "photo_sharing_intent", i, history, "yes" if i == first_photo else "no", []
        if "image_grounded_qa" in tasks and t.role == "answerer" and i >= 2:
            caption = d.turns[0].text
            yield (
                "image_grounded_qa",
                i,
                f"Image caption: {caption}\n\nDialogue:\n{_history(d, i)}",
                t.text,
                [img.uri for img in d.turns[0].images],
            )


def instruction_records(
    dialogues: Iterable[Dialogue], tasks: Iterable[str] | None = None, *, seed: int = 0
) -> Iterator[dict[str, Any]]:
    """Instruction records of ``dialogues`` for ``tasks`` (all by default), lazily.

    Example:
        >>> from mmdial_data import read_source
        >>> from mmdial_data.testing import demo_dir
        >>> dialogues = read_source("dailydialog", demo_dir() / "dailydialog")
        >>> recs = list(instruction_records(dialogues, ["emotion_detection"]))
        >>> recs[0]["task"], recs[0]["output"], recs[0]["dialogue_id"]
        ('emotion_detection', 'no_emotion', 'dailydialog/train/1')
    """
    templates = load_templates()["tasks"]
    registry: Registry[Mapping[str, Any]] = Registry("instruction task", templates)
    wanted = set(templates) if tasks is None else set(tasks)
    for name in sorted(wanted):
        registry.get(name)  # an unknown task: UnknownNameError (a KeyError) naming the closest one
    for d in dialogues:
        for task, turn, inp, out, images in _examples(d, {t for t in wanted if applies(templates[t], d.source)}):
            options = templates[task]["instructions"]
            k = int(stable_fraction(f"{task}/{d.dialogue_id}/{turn}", seed) * len(options))
            yield {
                "task": task,
                "instruction": options[k],
                "input": inp,
                "output": out,
                "images": images,
                "source": d.source,
                "dialogue_id": d.dialogue_id,
                "split": d.split,
                "turn_index": turn,
                "template_id": f"{task}/{k}",
            }


def export_instructions(
    data: str | os.PathLike[str], out: str | os.PathLike[str], *, tasks: Iterable[str] | None = None, seed: int = 0
) -> dict[str, dict[str, int]]:
    """Write ``out/<split>.jsonl`` instruction records and ``out/manifest.json``; returns counts per split and task.

    Example:
        >>> import tempfile, pathlib
        >>> from mmdial_data.testing import demo_dir
        >>> out = pathlib.Path(tempfile.mkdtemp())
        >>> from mmdial_data import read_source, write_dialogues
        >>> _ = write_dialogues(read_source("photochat", demo_dir() / "photochat"), out / "pc.jsonl")
        >>> export_instructions(out / "pc.jsonl", out / "inst", tasks=["photo_sharing_intent"])
        {'train': {'photo_sharing_intent': 3}}
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    handles: dict[str, Any] = {}
    tmp_paths: dict[str, Path] = {}
    task_list = None if tasks is None else list(tasks)
    try:
        for rec in instruction_records(iter_input(data), task_list, seed=seed):
            split = rec["split"]
            if split not in handles:
                tmp_paths[split] = out / f".{split}.jsonl.tmp-{os.getpid()}"
                handles[split] = tmp_paths[split].open("w", encoding="utf-8", newline="\n")
            handles[split].write(dump_json(rec) + "\n")
            counts[split][rec["task"]] += 1
    finally:
        for h in handles.values():
            h.close()
    for split, tmp in tmp_paths.items():
        os.replace(tmp, out / f"{split}.jsonl")
    from mmdial_data.provenance import provenance

    result = {s: dict(sorted(c.items())) for s, c in sorted(counts.items())}
    manifest = provenance(
        config={"tasks": task_list or list_tasks(), "templates_version": load_templates()["version"]},
        seed=seed,
        extra={"counts": result},
    )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result
