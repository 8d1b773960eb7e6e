"""CrossWOZ (Zhu et al., TACL 2020: a Chinese cross-domain task-oriented dialogue dataset) reader.

Release: ``thu-coai/CrossWOZ``, ``data/crosswoz/{train,val,test}.json.zip`` (licence Apache-2.0). Input: one of
those zip files (its ``.json`` members are read from the archive in memory, never extracted to disk), an unzipped
``.json`` file, or a folder of them. Each JSON file maps a task id to a dialogue ``{"sys-usr", "goal",
"messages", "final_goal", "task description", "type"}``; Chinese text is decoded as UTF-8 and kept exactly.

Mapping of ``messages`` (one :class:`Turn` each):

- ``role`` ``usr``/``sys`` -> speaker ``usr``/``sys``, role ``user``/``system``; ``content`` -> text, verbatim.
- ``dialog_act`` ``[intent, domain, slot, value]`` -> ``DialogueAct(intent, domain=domain, slot=slot,
  values=[value])``, kept verbatim (``"none"`` slots and values included).
- system turns: ``sys_state`` (the final DB query, ``{domain: {slot: value, "selectedResults": [...]}}``) ->
  ``state`` as ``"<domain>-<slot>" -> [value]`` for the non-empty values; ``sys_state`` and ``sys_state_init``
  are also kept verbatim in ``extra`` (``selectedResults`` included).
- user turns: ``user_state`` (the dynamic goal, same tuples as ``goal``) -> ``extra["user_state"]``, verbatim.
- any other message field -> ``extra["source_fields"]``.

``meta``: ``original_id`` (the task id) and every other top-level field under its own key (``sys-usr``, ``goal``,
``final_goal``, ``task description``, ``type``).

Splits: from the file name (``train``, ``val``, ``test``; ``val`` becomes ``validation``: ``read_source`` gives the
canonical name of :mod:`mmdial_data.splits`). Dialogue ids: ``crosswoz/<split>/<task id>``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, load_json
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "crosswoz"
LICENSE = "Apache-2.0"
CITATION = "Zhu et al. 2020, CrossWOZ: A Large-Scale Chinese Cross-Domain Task-Oriented Dialogue Dataset, TACL"
ROLES = {"usr": "user", "sys": "system"}
_MESSAGE_KEYS = ("content", "role", "dialog_act", "user_state", "sys_state", "sys_state_init")


def read_crosswoz(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield CrossWOZ dialogues from a release ``.json.zip`` (read in memory), a ``.json`` file or a folder.

    Args:
        path: ``train.json.zip``/``val.json.zip``/``test.json.zip``, an unzipped ``.json`` or a folder of them.
        split: Override the split named by the file name.
        policy: What to do with a malformed dialogue (raise, or skip and record it).

    Raises:
        SourceFormatError: The file is not CrossWOZ (not a JSON object of dialogues with ``messages``; a zip
            without a ``.json`` member), or, under ``on_error="raise"``, a dialogue is malformed.

    Example:
        >>> import json, tempfile, zipfile
        >>> p = Path(tempfile.mkdtemp()) / "val.json.zip"
        >>> dialog = {"type": "单领域", "messages": [
        ...     {"content": "你好，推荐一家餐馆。", "role": "usr", "dialog_act": [["General", "greet", "none", "none"]],
        ...      "user_state": []},
        ...     {"content": "推荐讲礼驴肉馆。", "role": "sys", "dialog_act": [["Inform", "餐馆", "名称", "讲礼驴肉馆"]],
        ...      "sys_state": {"餐馆": {"名称": "讲礼驴肉馆", "selectedResults": []}}, "sys_state_init": {}}]}
        >>> with zipfile.ZipFile(p, "w") as z:
        ...     z.writestr("val.json", json.dumps({"7": dialog}, ensure_ascii=False))
        >>> d = next(read_crosswoz(p, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].text, d.turns[1].annotations.state
        ('crosswoz/val/7', '你好，推荐一家餐馆。', {'餐馆-名称': ['讲礼驴肉馆']})
        >>> d.turns[0].annotations.dialogue_acts[0]
        DialogueAct(act='General', domain='greet', slot='none', values=['none'])
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith((".json.zip", ".json")))
        if not files:
            raise SourceFormatError("no CrossWOZ *.json.zip or *.json file in this folder", path=path)
    else:
        files = [path]
    for file in files:
        for where, data in _documents(file):
            yield from _read_document(where, data, split or infer_split(file), policy)


def _documents(file: Path) -> Iterator[tuple[str, Any]]:
    """``(name for errors, parsed JSON)`` of a ``.json`` file or of each ``.json`` member of a zip file."""
    if not zipfile.is_zipfile(file):
        yield str(file), load_json(file)
        return
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceFormatError(f"damaged zip file ({exc})", path=file) from exc
    with archive:
        members = [m for m in archive.namelist() if m.endswith(".json") and not m.startswith("__MACOSX/")]
        if not members:
            raise SourceFormatError("not a CrossWOZ file: the zip file holds no .json member", path=file)
        for member in members:
            where = f"{file}!{member}"
            try:
                data = json.loads(archive.read(member).decode("utf-8"))
            except (zipfile.BadZipFile, EOFError, OSError) as exc:  # a damaged archive (bad CRC, cut short)
                raise SourceFormatError(f"damaged zip member ({exc})", path=where) from exc
            except UnicodeDecodeError as exc:
                raise SourceFormatError(f"not valid UTF-8 at byte {exc.start}", path=where) from exc
            except json.JSONDecodeError as exc:
                raise SourceFormatError(
                    f"malformed JSON ({exc.msg})", path=where, record=f"line {exc.lineno} column {exc.colno}"
                ) from exc
            yield where, data


def _read_document(where: str, data: Any, split: str, policy: ErrorPolicy) -> Iterator[Dialogue]:
    path = Path(where)
    expect(
        isinstance(data, dict) and bool(data),
        "not a CrossWOZ file: expected a non-empty JSON object of dialogues by task id",
        path=path,
        record="top level",
    )
    first_id, first = next(iter(data.items()))
    expect(
        isinstance(first, dict) and isinstance(first.get("messages"), list),
        "not a CrossWOZ file: the first dialogue has no 'messages' list",
        path=path,
        record=f"dialogue {first_id}",
    )
    for task_id, raw in data.items():
        record = f"dialogue {task_id}"
        dialogue = build_or_report(
            partial(_dialogue, task_id, raw, split, path, record), policy, path=path, record=record
        )
        if dialogue is not None:
            yield dialogue


def _dialogue(task_id: str, raw: Any, split: str, path: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict) and isinstance(raw.get("messages"), list), "no 'messages' list", path=path, record=record
    )
    expect(bool(raw["messages"]), "empty 'messages'", path=path, record=record)
    turns = []
    for i, m in enumerate(raw["messages"]):
        where = f"{record}, message {i}"
        expect(isinstance(m, dict), "message is not an object", path=path, record=where)
        role, text = m.get("role"), m.get("content")
        expect(role in ROLES, f"unknown role {role!r}", path=path, record=where)
        expect(isinstance(text, str) and bool(text.strip()), "no content", path=path, record=where)
        acts = []
        for act in m.get("dialog_act", []):
            expect(
                isinstance(act, list) and len(act) == 4 and all(isinstance(x, str) for x in act),
                f"dialog act {act!r} is not [intent, domain, slot, value]",
                path=path,
                record=where,
            )
            acts.append(DialogueAct(act[0], domain=act[1], slot=act[2], values=[act[3]]))
        extra: dict[str, Any] = {k: m[k] for k in ("user_state", "sys_state", "sys_state_init") if k in m}
        rest = {k: v for k, v in m.items() if k not in _MESSAGE_KEYS}
        if rest:
            extra["source_fields"] = rest
        state = _state(m.get("sys_state"), path, where) if role == "sys" else {}
        annotations = Annotations(dialogue_acts=acts, state=state, extra=extra)
        turns.append(Turn(i, role, ROLES[role], text, annotations=annotations))
    meta: dict[str, Any] = {"original_id": task_id}
    meta.update((k, v) for k, v in raw.items() if k != "messages")
    return Dialogue(f"{SOURCE}/{split}/{task_id}", SOURCE, split, turns, meta)


def _state(sys_state: Any, path: Path, where: str) -> dict[str, list[str]]:
    if sys_state is None:
        return {}
    expect(isinstance(sys_state, dict), "'sys_state' is not an object", path=path, record=where)
    state: dict[str, list[str]] = {}
    for domain, slots in sys_state.items():
        expect(isinstance(slots, dict), f"sys_state[{domain!r}] is not an object", path=path, record=where)
        for slot, value in slots.items():
            if slot == "selectedResults":
                continue
            if isinstance(value, str) and value:
                state[f"{domain}-{slot}"] = [value]
            elif isinstance(value, list) and value:
                state[f"{domain}-{slot}"] = [str(v) for v in value]
    return state
