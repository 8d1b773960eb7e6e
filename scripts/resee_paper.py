"""ReSee at paper scale: one config (data, images, encoder, backbone, ReSee's hyper-parameters) -> the whole
experiment, as the project's own commands, on a GPU (`python3 -m nox -s resee-paper -- CONFIG.yaml`).

The config is data (``packages/mmdial-fusion/examples/resee-paper/*.yaml``); ``${NAME}`` in it is replaced from
``--set NAME=VALUE`` or the environment (a name given by neither is an error before anything runs). The steps,
each an ``mmdial`` command whose line is printed and recorded:

1. ``mmdial build`` the config's ``dialogues`` (readers and paths: the user's full DailyDialog / Wizard of
   Wikipedia release, whole splits as the release has them), through the recipe written to ``OUT/recipe.yaml``;
2. ``mmdial retrieval pool add`` every image collection (COCO, Flickr30k, ... captions files), ``mmdial retrieval
   index`` it with the config's encoder (a real CLIP via open_clip, weights the user provides);
3. ``mmdial fusion build-samples`` (turn-level images per context turn, entity-level images per spaCy entity);
4. one ``mmdial fusion train`` per trained system (ReSee trains its ablations as separate runs: full, no entity
   images, no turn images, text only), with the config's ``experiment`` block as the training config;
5. ``mmdial fusion eval`` of each run on the test samples.

``OUT/paper_run.json`` records every command, its wall time, the seconds per epoch of each training run
(wall time / epochs, and samples per second), the scores, and the config with its variables resolved. A step
whose outputs exist is skipped on a rerun (training resumes from its ``last/`` checkpoint).
``--dry-run`` prints the commands without running them. Bad input: one ``mmdial: error:`` line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

#: Keys a paper config may have (anything else is an error: a misspelt key must not be ignored).
KEYS = {"name", "dialogues", "filters", "images", "encoder", "samples", "experiment", "systems", "device", "eval"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A paper config that cannot run; the message is the one line shown."""


def resolve(value: Any, variables: dict[str, str], where: str) -> Any:
    """``value`` with every ``${NAME}`` replaced from ``variables`` (recursively through lists and mappings)."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in variables:
                raise ConfigError(
                    f"{where}: ${{{m.group(1)}}} is not set; pass --set {m.group(1)}=VALUE or export {m.group(1)}"
                )
            return variables[m.group(1)]

        return _VAR.sub(sub, value)
    if isinstance(value, list):
        return [resolve(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, variables, where) for k, v in value.items()}
    return value


def load_config(path: Path, overrides: dict[str, str]) -> dict[str, Any]:
    """Read a paper config, check its keys and resolve its variables (``overrides`` first, then the environment)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc}); pass a paper config YAML") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config is not a mapping; see packages/mmdial-fusion/examples/resee-paper/")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown keys {unknown}; known: {sorted(KEYS)}")
    for key in ("dialogues", "images", "encoder", "experiment", "systems"):
        if key not in raw:
            raise ConfigError(f"{path}: missing key {key!r}")
    config: dict[str, Any] = resolve(raw, {**os.environ, **overrides}, str(path))
    return config


def write_recipe(config: dict[str, Any], out: Path) -> Path:
    """The ``mmdial build`` recipe of the config's ``dialogues`` (and ``filters``), written to ``OUT/recipe.yaml``."""
    recipe = {
        "name": config.get("name", "resee-paper"),
        "version": 1,
        "seed": 0,
        "on_error": "raise",
        "sources": [{"reader": d["reader"], "paths": [str(Path(p).resolve()) for p in d["paths"]]}
                    for d in config["dialogues"]],
    }  # fmt: skip
    if config.get("filters"):
        recipe["filters"] = config["filters"]
    path = out / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path


def plan(config: dict[str, Any], out: Path) -> list[tuple[str, list[str], Path | None]]:
    """The commands of the experiment, in order: (step name, argv, the output that marks it done)."""
    pool, index, samples = out / "pool", out / "index", out / "samples"
    steps: list[tuple[str, list[str], Path | None]] = [
        (
            "build",
            ["mmdial", "build", str(out / "recipe.yaml"), "--out", str(out / "dataset")],
            out / "dataset" / "provenance.json",
        )
    ]
    for i, images in enumerate(config["images"]):
        argv = ["mmdial", "retrieval", "pool", "add", str(pool), str(images["path"]), "--format", images["format"]]
        if images.get("image_root"):
            argv += ["--image-root", str(images["image_root"])]
        if images.get("name"):
            argv += ["--name", str(images["name"])]
        steps.append((f"pool-{i}", argv, pool / f".added-{i}"))
    device = config.get("device", "cuda")
    steps.append(
        ("index", ["mmdial", "retrieval", "index", str(pool), "--encoder", config["encoder"], "--out", str(index)],
         index / "index.json")
    )  # fmt: skip
    s = config.get("samples", {})
    argv = ["mmdial", "fusion", "build-samples", str(out / "dataset" / "data"), "--out", str(samples)]
    argv += ["--index", str(index)]
    argv += ["--encoder", config["encoder"]]
    if s.get("entities", True):
        argv.append("--entities")
    for key in ("max_context_turns", "max_turn_images", "max_entity_images"):
        if key in s:
            argv += [f"--{key.replace('_', '-')}", str(s[key])]
    steps.append(("samples", argv, samples / "provenance.json"))
    for system in config["systems"]:
        run = out / "runs" / system
        # no marker: `mmdial fusion train` resumes from last/ itself (and a finished run trains no further step)
        steps.append((f"train-{system}", ["mmdial", "fusion", "train", str(run / "train.yaml"), "--device", device],
                      None))  # fmt: skip
    ev = config.get("eval", {})
    for system in config["systems"]:
        run = out / "runs" / system
        split = ev.get("split", "test")
        argv = ["mmdial", "fusion", "eval", str(run / "best"), str(samples / f"{split}.jsonl")]
        argv += ["--ablations", ",".join(ev.get("ablations", {}).get(system, [system]))]
        argv += ["--out", str(run / "eval.json")]
        for key in ("strategy", "max_new_tokens", "limit"):
            if key in ev:
                argv += [f"--{key.replace('_', '-')}", str(ev[key])]
        steps.append((f"eval-{system}", argv, run / "eval.json"))
    return steps


def train_config(config: dict[str, Any], system: str, out: Path) -> dict[str, Any]:
    """The ``mmdial fusion train`` config of one system: the experiment block, its ablation and its folders."""
    exp = json.loads(json.dumps(config["experiment"]))
    samples = out / "samples"
    exp.setdefault("data", {}).update(
        {
            "train": str(samples / "train.jsonl"),
            "validation": str(samples / "validation.jsonl"),
            "features": str(samples / "features.npz"),
            "ablation": system,
        }
    )
    exp.setdefault("train", {})["output_dir"] = str(out / "runs" / system)
    return exp


def _epoch_figures(config: dict[str, Any], system: str, seconds: float, out: Path) -> dict[str, Any]:
    """Seconds per epoch of a training run (or per step, when ``train.max_steps`` cut it short)."""
    train = config["experiment"].get("train", {})
    epochs, max_steps = int(train.get("epochs", 3)), train.get("max_steps")
    lines = (out / "samples" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    n = sum(1 for line in lines if line.strip())
    per_epoch = math.ceil(n / (int(train.get("batch_size", 8)) * int(train.get("grad_accum", 1))))
    steps = min(per_epoch * epochs, int(max_steps)) if max_steps else per_epoch * epochs
    return {
        "system": system,
        "train_samples": n,
        "steps_per_epoch": per_epoch,
        "steps": steps,
        "seconds": round(seconds, 2),
        "seconds_per_step": seconds / steps if steps else None,
        "seconds_per_epoch": seconds / steps * per_epoch if steps else None,
        "note": "wall time of the command (start-up and checkpoints included) / optimizer steps x steps per epoch",
    }


def run(config: dict[str, Any], out: Path, *, dry_run: bool = False, env: dict[str, str] | None = None) -> dict:
    """Run (or with ``dry_run`` print) the experiment; returns the record written to ``OUT/paper_run.json``."""
    steps = plan(config, out)
    if not dry_run:
        out.mkdir(parents=True, exist_ok=True)
        write_recipe(config, out)
    record: dict[str, Any] = {"config": config, "steps": [], "epochs": [], "scores": {}}
    for name, argv, done in steps:
        line = shlex.join(argv)
        print(("(dry run) " if dry_run else "") + line, flush=True)
        if dry_run:
            continue
        if name.startswith("train-"):
            system = name.removeprefix("train-")
            cfg = out / "runs" / system / "train.yaml"
            cfg.parent.mkdir(parents=True, exist_ok=True)
            cfg.write_text(yaml.safe_dump(train_config(config, system, out), sort_keys=False), encoding="utf-8")
        if done is not None and done.exists():
            record["steps"].append({"step": name, "command": line, "skipped": "output exists"})
            continue
        resumed = name.startswith("train-") and (out / "runs" / name.removeprefix("train-") / "last").exists()
        t0 = time.perf_counter()
        result = subprocess.run(argv, env=env)
        seconds = time.perf_counter() - t0
        if result.returncode != 0:
            raise ConfigError(f"step {name} failed (exit {result.returncode}): {line}")
        if name.startswith("pool-") and done is not None:
            done.write_text(line + "\n", encoding="utf-8")
        record["steps"].append({"step": name, "command": line, "seconds": round(seconds, 2)})
        if name.startswith("train-") and not resumed:  # a resumed run's wall time is not an epoch's
            record["epochs"].append(_epoch_figures(config, name.removeprefix("train-"), seconds, out))
    if not dry_run:
        for system in config["systems"]:
            path = out / "runs" / system / "eval.json"
            record["scores"][system] = json.loads(path.read_text(encoding="utf-8"))
        (out / "paper_run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", type=Path, help="a paper config YAML (packages/mmdial-fusion/examples/resee-paper/)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (rerun to resume)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a ${NAME} of the config")
    ap.add_argument("--device", default=None, help="override the config's device (cuda, cpu)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = ap.parse_args(argv)
    try:
        overrides = {}
        for item in args.set:
            if "=" not in item:
                raise ConfigError(f"--set {item}: expected NAME=VALUE")
            k, v = item.split("=", 1)
            overrides[k] = v
        config = load_config(args.config, overrides)
        if args.device:
            config["device"] = args.device
        args.out.mkdir(parents=True, exist_ok=True)
        run(config, args.out, dry_run=args.dry_run)
    except ConfigError as exc:
        print(f"mmdial: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
