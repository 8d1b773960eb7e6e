"""The columnar build path (PhotoChat batches as Arrow tables, vectorized builder steps, background writes)
against the one-by-one object path it replaces: same tables, same errors, byte-identical outputs."""

from __future__ import annotations

import copy
import importlib.util
import json
import random
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from mmdial_data import Dialogue, ErrorPolicy, build_dataset
from mmdial_data import build as build_module
from mmdial_data.arrow import from_table, to_table
from mmdial_data.build import _ShardedWriter, _word_counts
from mmdial_data.io import ParquetDialogueWriter
from mmdial_data.readers import _typed_json, read_source, read_source_batches
from mmdial_data.readers._photochat_items import _image_id
from mmdial_data.readers._photochat_tables import _image_id_fast, _image_ids
from mmdial_data.readers._typed_json import decode_arrow_json, decode_typed_json
from mmdial_data.readers.photochat import (
    _arrow_item_type,
    _decoded_ahead,
    _typed_item,
    read_photochat,
    read_photochat_batches,
)
from mmdial_data.testing import assert_fields_covered, demo_dir, samples_dir

#: Written by hand in the PhotoChat release format (google-research multimodalchat/photochat README).
BASE = json.loads((demo_dir() / "photochat" / "train" / "train_00.json").read_text())


def _items(n: int, start: int = 0, *, photo_ids: bool = True) -> list[dict[str, Any]]:
    """``n`` items of the demo file with new ids; without ``photo_ids``, as in the release (the Arrow path)."""
    out = []
    for i in range(n):
        item = copy.deepcopy(BASE[i % len(BASE)])
        item["dialogue_id"] = start + i
        if not photo_ids:
            item.pop("photo_id", None)
        out.append(item)
    return out


def _irregular() -> list[Any]:
    """Every kind of item the fast path must hand to the object path (or take with the same result)."""
    items: list[Any] = _items(60)
    items[1]["dialogue"][1]["message"] = "  \u3000"  # blank message: read_source's empty-turn rule drops it
    items[2]["dialogue"][0]["user_id"] = 2
    items[3]["dialogue"][0]["user_id"] = True  # the reader takes a bool as 1
    items[4]["dialogue"][1]["user_id"] = 1.0
    items[5]["dialogue"][0]["extra_key"] = [1, "x"]  # goes to extra
    items[6]["source_thing"] = {"a": 1.5}  # goes to meta
    items[7]["photo_id"] = "pid123"
    items[8]["photo_id"] = ""
    items[9]["photo_id"] = 7
    items[10]["dialogue"] = []
    items[11]["dialogue_id"] = "str-id"
    items[12]["photo_url"] = "https://ex.org/a/b/c.tar.gz?x=1#f"
    items[13]["photo_url"] = "https://ex.org/a/b/;p=1/img.png;v"
    items[14]["photo_url"] = "https://ex.org/"
    items[15]["photo_url"] = "HTTPS://EX.org/a/B.JPG"
    items[16]["photo_description"] = 'quote " backslash \\ ctrl \x01 tab\t é \u2028 emoji 😀'
    items[17]["dialogue"][0]["message"] = "x\x1cy\x1fz \x85w\xa0v"
    items[18]["dialogue"][1]["share_photo"] = 1
    items[19]["dialogue"][1]["share_photo"] = None
    items[20]["dialogue"][0].pop("share_photo")
    items[21]["dialogue"][0]["message"] = None
    items[22]["dialogue"] = [t for t in items[22]["dialogue"] if not t["share_photo"]]
    items[23]["dialogue"][0]["share_photo"] = True  # two shared photos
    items[24]["photo_url"] = "../escape.jpg"  # the validator rejects it
    items[25]["photo_url"] = "/abs/x.jpg"
    items[26]["photo_description"] = None
    items[27]["dialogue_id"] = 0  # a duplicate id
    items[28] = "not a dict"
    items[29].pop("photo_url")
    items[30]["dialogue_id"] = 1.5
    items[31]["dialogue"][0] = 5
    items[32]["dialogue"][0] = ["a", "b", "c"]
    items[33]["dialogue"] = "abc"
    items[34] = ["a", "b", "c", "d"]
    items[35]["dialogue"][0]["message"] = "word  \t\n other\u00a0third\u2003fourth"
    items[36]["photo_url"] = "https://[::1/img.png"
    items[36].pop("photo_id", None)
    return items


def _rule_breaking() -> list[Any]:
    """Items with exactly the release's fields and types (the typed decoder takes the file) that the reader
    still rejects or treats specially: such a batch must go through the object path."""
    items: list[Any] = _items(40, 700)
    items[1]["dialogue"][0]["message"] = " \t"  # blank message without a photo
    items[2]["dialogue"][0]["user_id"] = 2
    items[3]["dialogue"][2]["user_id"] = -1
    items[4]["dialogue"] = []
    items[5]["dialogue"] = [t for t in items[5]["dialogue"] if not t["share_photo"]]
    items[6]["dialogue"][0]["share_photo"] = True  # two shared photos
    items[7]["photo_id"] = "pid9"
    items[8]["photo_id"] = ""
    items[9]["dialogue_id"] = "str-id"
    items[10]["dialogue_id"] = 700  # a duplicate id
    items[11]["photo_url"] = "../escape.jpg"
    items[12]["photo_description"] = 'quote " backslash \\ ctrl \x01 é \u2028 😀'
    items[13]["dialogue"][0]["message"] = "x\x1cy\x1fz \x85w\xa0v"
    items[14]["dialogue_id"] = -(2**63)
    items[15]["photo_url"] = "http://[x/a.png"  # urlparse rejects it: the reader reports the item
    items[15].pop("photo_id", None)
    items[16]["dialogue"][1]["user_id"] = 256  # 0 as a byte
    items[17]["dialogue"][0]["user_id"] = 2**40
    # blank or not by more than the first byte: Unicode and control spaces are blank, DEL and others are not
    for i, message in enumerate(["\u3000\u00a0", "\x1c\x1f", " a", "é", "\x7f", "\t\u2028x", " "], start=18):
        turn = next(t for t in items[i]["dialogue"] if not t["share_photo"])
        turn["message"] = message
    return items


def _write(path: Path, items: Any, raw: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw if raw is not None else json.dumps(items, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    _write(root / "clean" / "train" / "train_01.json", _items(1500))
    _write(root / "edge" / "dev" / "dev_00.json", _irregular())
    _write(root / "typed" / "train" / "train_02.json", _rule_breaking())
    _write(root / "typed" / "train" / "train_03.json", [])
    big = _items(30, 800)
    big[3]["dialogue_id"] = 2**63  # beyond 64 bits: ijson rejects it, so the typed decoder must not take it
    _write(root / "big_int" / "train" / "train_04.json", big)
    text = json.dumps(_items(300, 5000), indent=1)
    _write(root / "trunc" / "test" / "test_01.json", None, raw=text[: len(text) * 2 // 3])
    short = _items(400, 9000, photo_ids=False)
    for i, item in enumerate(short):
        kept = item["dialogue"][: 1 + i % 5]
        if not any(t["share_photo"] for t in kept):
            kept[-1] = {"message": "", "share_photo": True, "user_id": i % 2}
        item["dialogue"] = kept
    _write(root / "short" / "train" / "train_05.json", short)
    with_photo_id = _items(50, 12000, photo_ids=False)
    with_photo_id[20]["photo_id"] = "pid20"  # not in the Arrow item type: the typed decoder takes this file
    for i, items in enumerate([_items(90, 11000, photo_ids=False), with_photo_id, _items(70, 13000, photo_ids=False)]):
        _write(root / "multi" / "train" / f"train_{i:02d}.json", items)
    return root


@pytest.fixture(params=["typed", "generic"])
def json_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run with msgspec's typed whole-file decoding (the default) and without it (ijson / json.loads)."""
    if request.param == "generic":
        monkeypatch.setattr(_typed_json, "TYPED_JSON_BYTES", 0)
        monkeypatch.setenv("MMDIAL_TYPED_JSON_MB", "0")  # read-ahead child processes
    return str(request.param)


def test_typed_decoding_takes_exactly_the_regular_files(inputs: Path) -> None:
    def typed(folder: str) -> list[bool]:
        files = sorted((inputs / folder).rglob("*.json"))
        return [decode_typed_json(f, _typed_item()) is not None for f in files]

    def arrow(folder: str) -> list[bool]:
        files = sorted((inputs / folder).rglob("*.json"))
        return [decode_arrow_json(f, _arrow_item_type()) is not None for f in files]

    assert typed("clean") == typed("short") == [True]
    assert typed("typed") == [True, True]
    assert typed("multi") == [True, True, True]
    assert typed("edge") == typed("trunc") == typed("big_int") == [False]
    # Arrow columns: only the four release fields (no photo_id), integer ids; an empty list goes on too
    assert arrow("short") == [True]
    assert arrow("multi") == [True, False, True]
    assert arrow("clean") == arrow("edge") == arrow("trunc") == arrow("big_int") == [False]  # photo_id in some
    assert arrow("typed") == [False, False]
    for path in sorted((inputs / "multi").rglob("*.json"))[::2] + sorted((inputs / "short").rglob("*.json")):
        columns = decode_arrow_json(path, _arrow_item_type())
        assert columns is not None and columns.to_pylist() == json.loads(path.read_text())


def _same_as_object_reader(folder: Path) -> int:
    """Assert that the batches of ``folder`` equal the object reader's dialogues and errors; the tables made."""
    reference_policy, policy = ErrorPolicy("skip"), ErrorPolicy("skip")
    reference = list(read_photochat(folder, split=None, policy=reference_policy))
    got: list[Dialogue] = []
    tables = 0
    for item in read_photochat_batches(folder, split=None, policy=policy, batch_size=16):
        if isinstance(item, Dialogue):
            got.append(item)
        else:
            assert item.equals(to_table(reference[len(got) : len(got) + item.num_rows]))
            got.extend(from_table(item))
            tables += 1
    assert got == reference
    assert policy.skipped == reference_policy.skipped
    return tables


def _mark(text: str, item: dict[str, Any]) -> None:
    """Put ``text`` as the message of the item's first turn (replaced in the JSON text afterwards)."""
    item["dialogue"][0]["message"] = text


#: One item made irregular in a way Arrow must refuse (or keep only as a null), the JSON text then edited.
STRICT: dict[str, tuple[Any, str, bytes]] = {
    "null message": (partial(_mark, "MARK"), '"MARK"', b"null"),
    "number message": (partial(_mark, "MARK"), '"MARK"', b"5"),
    "bool message": (partial(_mark, "MARK"), '"MARK"', b"true"),
    "object message": (partial(_mark, "MARK"), '"MARK"', b'{"a": "b"}'),
    "list message": (partial(_mark, "MARK"), '"MARK"', b'["a"]'),
    "lone high surrogate": (partial(_mark, "MARK"), '"MARK"', b'"a\\ud800b"'),
    "lone low surrogate": (partial(_mark, "MARK"), '"MARK"', b'"a\\udc00b"'),
    "raw control character": (partial(_mark, "MARK"), '"MARK"', b'"a\x01b"'),
    "invalid UTF-8": (partial(_mark, "MARK"), '"MARK"', b'"a\xffb"'),
    "duplicate key": (partial(_mark, "MARK"), '"MARK"', b'"hi", "message": "yo"'),
    "float user_id": (lambda item: item["dialogue"][0].update(user_id=1.0), "", b""),
    "exponent user_id": (lambda item: item["dialogue"][0].update(user_id=777777), "777777", b"1e0"),
    "id beyond 64 bits": (lambda item: item.update(dialogue_id=2**63), "", b""),
    "string id": (lambda item: item.update(dialogue_id="7"), "", b""),
    "number for bool": (lambda item: item["dialogue"][0].update(share_photo=1), "", b""),
    "missing field": (lambda item: item.pop("photo_url"), "", b""),
    "missing turn field": (lambda item: item["dialogue"][0].pop("message"), "", b""),
    "null turn": (lambda item: item["dialogue"].insert(0, None), "", b""),
    "extra turn field": (lambda item: item["dialogue"][0].update(x=1), "", b""),
    "photo_id": (lambda item: item.update(photo_id="p"), "", b""),
    "null photo_url": (lambda item: item.update(photo_url=None), "", b""),
    "null item": (lambda item: item.clear(), "{}", b"null"),
    "string item": (lambda item: item.clear(), "{}", b'"x"'),
    "trailing content": (None, "\n]", b"\n] []"),
    "top-level object": (None, "[\n", b'{"items": [\n'),
}


@pytest.mark.parametrize("case", sorted(STRICT))
def test_arrow_decoding_is_strict_and_the_fallbacks_agree(tmp_path: Path, case: str) -> None:
    mutate, old, new = STRICT[case]
    items = _items(40, 300, photo_ids=False)
    if mutate is not None:
        mutate(items[17])
    text = json.dumps(items, indent=2).encode()
    if old:
        assert old.encode() in text
        text = text.replace(old.encode(), new, 1) if case != "trailing content" else text[: -len(old)] + new
        if case == "top-level object":
            text += b"}"
    path = tmp_path / "train" / "train_00.json"
    path.parent.mkdir()
    path.write_bytes(text)
    assert decode_arrow_json(path, _arrow_item_type()) is None
    _same_as_object_reader(tmp_path)


def test_arrow_decoding_keeps_escapes_and_unicode(tmp_path: Path) -> None:
    items = _items(40, 400, photo_ids=False)
    items[3]["dialogue"][0]["message"] = 'quote " backslash \\ slash / tab\t newline\n é 😀 \u2028 \x7f'
    items[4]["photo_description"] = 'a "quoted" \\ description \x01 with é and 😀'
    items[5]["photo_url"] = "https://ex.org/é/a b.png"
    items[6]["dialogue_id"] = -(2**63)
    for ascii_only in (True, False):
        path = tmp_path / ("ascii" if ascii_only else "utf8") / "train" / "train_00.json"
        path.parent.mkdir(parents=True)
        text = json.dumps(items, ensure_ascii=ascii_only).replace('"user_id": 0', '"user_id": -0', 1)
        path.write_text(text.replace('"/', '"\\/', 1), encoding="utf-8")
        columns = decode_arrow_json(path, _arrow_item_type())
        assert columns is not None and columns.to_pylist() == items
        assert _same_as_object_reader(path.parents[1]) == 3  # 40 items in batches of 16: all tables


@pytest.mark.parametrize("photo_ids", [False, True], ids=["arrow", "typed"])
def test_empty_descriptions_take_the_fast_paths(tmp_path: Path, photo_ids: bool) -> None:
    items = _items(20, 500, photo_ids=photo_ids)
    for item in items:
        item["photo_description"] = ""  # the Arrow column then has an empty data buffer
    _write(tmp_path / "train" / "train_00.json", items)
    assert _same_as_object_reader(tmp_path) == 2


def test_files_decoded_ahead_stay_in_order_and_stop_when_closed(inputs: Path) -> None:
    files = sorted((inputs / "multi").rglob("*.json")) + sorted((inputs / "edge").rglob("*.json"))
    decoded = [(f, c is not None) for f, c in _decoded_ahead(files)]
    assert decoded == list(zip(files, [True, False, True, False], strict=True))
    ahead = _decoded_ahead(files)
    assert next(ahead)[0] == files[0]
    ahead.close()  # the file being decoded ahead is finished, the thread is gone
    assert not [t for t in threading.enumerate() if t.name.startswith("mmdial-json")]
    assert list(_decoded_ahead([])) == []


@pytest.mark.parametrize("batch_size", [1, 7, 1024])
def test_batches_equal_the_object_reader(inputs: Path, batch_size: int, json_path: str) -> None:
    for folder in ("clean", "edge", "trunc", "short", "multi", "typed", "big_int"):
        reference_policy, policy = ErrorPolicy("skip"), ErrorPolicy("skip")
        reference = list(read_photochat(inputs / folder, split=None, policy=reference_policy))
        got: list[Dialogue] = []
        tables = 0
        for item in read_photochat_batches(inputs / folder, split=None, policy=policy, batch_size=batch_size):
            if isinstance(item, Dialogue):
                got.append(item)
                continue
            tables += 1
            assert item.equals(to_table(reference[len(got) : len(got) + item.num_rows]))
            got.extend(from_table(item))
        assert got == reference
        assert policy.skipped == reference_policy.skipped
        # one irregular item: the whole batch
        assert tables > 0 or (folder in ("edge", "typed") and batch_size > 14) or folder == "big_int"
        if folder == "typed":
            assert len(policy.skipped) == 7  # items 2-5, 15-17 (blank messages are turns: read_source drops them)
        if folder in ("clean", "short"):
            assert not policy.skipped
    assert [s.record for s in policy.skipped] == ["item 3"]  # "big_int" (the last): ijson stops at 2**63


def test_batches_raise_like_the_object_reader(inputs: Path, json_path: str) -> None:
    for folder in ("edge", "trunc", "typed"):
        with pytest.raises(Exception) as expected:
            list(read_source("photochat", inputs / folder))
        with pytest.raises(type(expected.value)) as got:
            list(read_source_batches("photochat", inputs / folder))
        assert str(got.value) == str(expected.value)


@pytest.mark.samples
def test_sample_batches_and_field_coverage() -> None:
    path = samples_dir("photochat") / "test" / "test_00.json"
    [table] = read_source_batches("photochat", path)
    assert table.equals(to_table(read_source("photochat", path)))
    for d, source in zip(from_table(table), json.loads(path.read_text()), strict=True):
        assert_fields_covered(source, d, mapped={"message": "Turn.text", "share_photo": "Turn.images"})


def test_fast_image_id_equals_urlparse_pathlib() -> None:
    urls = [
        "https://example.org/photochat/0a1b2c3d.jpg",
        "https://ex.org/a/b/c.tar.gz?x=1#f",
        "https://ex.org/a/b/;p=1/img.png;v",
        "https://ex.org/",
        "https://ex.org",
        "http://ex.org/a/./.hidden",
        "http://ex.org/a/.",
        "http://ex.org/a/..",
        "http://ex.org/a/b..",
        "http://ex.org/a/.b.",
        "http://ex.org//x//",
        "http://[::1]/a.png",
        "http://ex.org/a b.png",
        "http://ex.org/é.png",
        " http://ex.org/a.png",
        "http://ex.org/a\t.png",
        "HTTPS://EX.org/a/B.JPG",
        "//ex.org/x/y.jpg",
        "ftp://ex.org/f.png",
        "relative/path.png",
        "",
        "http://ex.org/x.png#frag/with/slash",
        "http://ex.org?q=/a.png",
        "https://u:p@ex.org:8080/p/q.r.s",
    ]
    rng = random.Random(0)
    alphabet = "ab./;?#:[]@%é \t"
    urls += ["http://" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    urls += ["https://ex.org/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]

    def outcome(func: Any, arg: Any) -> Any:
        try:
            return func(arg)
        except ValueError as exc:  # urlparse rejects some hosts (the reader then reports the item)
            return repr(exc)

    for url in urls:
        assert outcome(_image_id_fast, url) == outcome(_image_id, {"photo_url": url}), url

    # the batch scan (_url_stems): printable ASCII URLs without spaces, most in the .../<stem>.<ext> form
    plain = "ab.-_~/;?#:[]@%=&+!$'()*,"
    parts = ["a", "b.c", ".", "..", "", "x.y.z", ";p", "é", "a\tb", "\x7f", "%20", "[::1]", "?q=/a.png", "#f"]
    urls += ["http" + rng.choice(["", "s", "S"]) + "://" + "".join(rng.choice(plain) for _ in range(rng.randint(0, 9)))
             for _ in range(3000)]  # fmt: skip
    urls += ["https://ex.org/" + "/".join(rng.choice(parts) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    urls += ["https://c7.staticflickr.com/8/7083/6989614068_bf3cbb8041_o.jpg", "http://ex.org/a.png\n", "x "]
    for size in (1, 2, 7, 64):
        for start in range(0, len(urls), size):
            batch = urls[start : start + size]
            expected = [outcome(_image_id_fast, url) for url in batch]
            if any(isinstance(e, str) and e.startswith("ValueError(") for e in expected):
                assert _image_ids(batch, None) is None, batch
            else:
                assert _image_ids(batch, None) == expected, batch


def test_word_counts_equal_str_split() -> None:
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    alphabet = [*spaces, *"ab.é😀\x00\x7f", "\u200b", "\ufeff"]
    rng = random.Random(1)
    values: list[str | None] = []
    for _ in range(5000):
        pool = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1fab.\x00\x7f" if rng.random() < 0.5 else alphabet
        values.append(None if rng.random() < 0.05 else "".join(rng.choice(pool) for _ in range(rng.randint(0, 12))))
    array = pa.array(values, pa.string())
    expected = [0 if v is None else len(v.split()) for v in values]
    for offset, length in [(0, 5000), (1, 3000), (333, 0), (4999, 1)]:
        assert _word_counts(array.slice(offset, length)).tolist() == expected[offset : offset + length]
    assert _word_counts(pa.array(["", None], pa.string())).tolist() == [0, 0]
    # no byte below 32 (the shortcut: a space is byte 32), ASCII only or with other Unicode spaces, no nulls
    for pool in (" ab.\x7f", " ab.é😀\x7f\u200b\u3000\xa0\u2028"):
        texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 12))) for _ in range(2000)]
        array = pa.array(texts, pa.string())
        for offset, length in [(0, 2000), (7, 1500)]:
            expected = [len(v.split()) for v in texts[offset : offset + length]]
            assert _word_counts(array.slice(offset, length)).tolist() == expected


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


RECIPES = {
    "shards": """
shard_size: 400
sources:
  - reader: photochat
    paths: [{in}/clean, {in}/multi]
  - reader: dailydialog
    paths: [{demo}/dailydialog]
  - reader: photochat
    paths: [{demo}/photochat]
""",
    "errors_skipped": """
shard_size: 333
on_error: skip
sources:
  - reader: photochat
    paths: [{in}/edge, {in}/trunc, {in}/clean, {in}/typed, {in}/big_int]
  - reader: photochat
    paths: [{in}/clean]
""",
    "filters": """
shard_size: 150
on_error: skip
sources:
  - reader: photochat
    paths: [{in}/short]
  - reader: photochat
    paths: [{in}/short]
    split: valid
filters: {{min_turns: 2, max_turns: 4, has_images: true}}
""",
    "no_images": """
shard_size: 150
sources:
  - reader: photochat
    paths: [{in}/short]
filters: {{has_images: false}}
""",
}


@pytest.mark.parametrize("read_ahead", [False, True], ids=["here", "read_ahead"])
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_columnar_build_is_byte_identical_to_object_build(
    tmp_path: Path, inputs: Path, monkeypatch: pytest.MonkeyPatch, name: str, json_path: str, read_ahead: bool
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: {name}\n" + RECIPES[name].format(**{"in": inputs, "demo": demo_dir()}))
    fast = build_dataset(recipe, tmp_path / "fast", progress=False, read_ahead=read_ahead)
    monkeypatch.setattr(build_module, "_columnar", lambda spec, recipe: False)
    slow = build_dataset(recipe, tmp_path / "slow", progress=False, read_ahead=False)
    assert _files(tmp_path / "fast") == _files(tmp_path / "slow")
    assert (fast.dialogues, fast.counts, fast.filtered, fast.per_source, fast.skipped) == (
        slow.dialogues, slow.counts, slow.filtered, slow.per_source, slow.skipped
    )  # fmt: skip
    assert fast.turn_lengths == slow.turn_lengths and fast.dialogue_lengths == slow.dialogue_lengths
    assert list(fast.counts) == list(slow.counts) and list(fast.filtered) == list(slow.filtered)
    assert (fast.dialogues > 0) == (name != "no_images")


@pytest.mark.parametrize("read_ahead", [False, True], ids=["here", "read_ahead"])
def test_columnar_build_raises_like_object_build(
    tmp_path: Path, inputs: Path, monkeypatch: pytest.MonkeyPatch, json_path: str, read_ahead: bool
) -> None:
    for folder in ("edge", "trunc", "typed"):
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(f"name: r\nsources:\n  - reader: photochat\n    paths: [{inputs / folder}]\n")
        with pytest.raises(Exception) as fast:
            build_dataset(recipe, tmp_path / "fast", progress=False, read_ahead=read_ahead)
        with monkeypatch.context() as m:
            m.setattr(build_module, "_columnar", lambda spec, recipe: False)
            with pytest.raises(type(fast.value)) as slow:
                build_dataset(recipe, tmp_path / "slow", progress=False)
        assert str(fast.value) == str(slow.value)


def test_sharded_writer_tables_and_background_equal_one_by_one(tmp_path: Path, inputs: Path) -> None:
    dialogues = list(read_source("photochat", inputs / "short"))[:47]
    for i, d in enumerate(dialogues):  # two splits, interleaved (the writer goes by Dialogue.split only)
        d.split = ("train", "test")[i % 3 % 2]
    reference = _ShardedWriter(tmp_path / "ref", shard_size=9, row_group=4)
    for d in dialogues:
        reference.add(d)
    reference.close()
    mixed = _ShardedWriter(tmp_path / "mixed", shard_size=9, row_group=4, background=True)
    position = 0
    for size in [1, 5, 0, 13, 2, 7, 19]:
        chunk = dialogues[position : position + size]
        if size % 2:
            mixed.add_table(to_table(chunk))
        else:
            for d in chunk:
                mixed.add(d)
        position += size
    assert position == len(dialogues)
    mixed.close()
    assert [p.relative_to(tmp_path / "mixed") for p in mixed.shards] == [
        p.relative_to(tmp_path / "ref") for p in reference.shards
    ]
    assert _files(tmp_path / "mixed") == _files(tmp_path / "ref")


def test_writer_rejects_other_schemas_and_aborts_in_background(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as executor:
        writer = ParquetDialogueWriter(tmp_path / "a.parquet", row_group=2, executor=executor)
        with pytest.raises(ValueError, match="unified schema"):
            writer.write_table(pa.table({"x": [1]}))
        writer.write_table(to_table(read_source("photochat", demo_dir() / "photochat")))
        writer.abort()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pyarrow imports pandas only where installed")
def test_a_build_does_not_import_pandas(tmp_path: Path) -> None:
    """pyarrow's list/scalar conversions import pandas on first use (~0.3 s a process); builds avoid them."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"name: np\nsources:\n  - reader: photochat\n    paths: [{demo_dir() / 'photochat'}]\n"
        f"  - reader: sgd\n    paths: [{demo_dir() / 'sgd' / 'train'}]\n"
        f"  - reader: dailydialog\n    paths: [{demo_dir() / 'dailydialog'}]\n"
    )
    code = (
        "import sys; from mmdial_data import build_dataset; "
        f"r = build_dataset({str(recipe)!r}, {str(tmp_path / 'out')!r}, progress=False); "
        "print(r.dialogues, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["7", "False"]
