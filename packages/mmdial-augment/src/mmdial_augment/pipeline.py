"""The IMAD pipeline over unified datasets: read -> candidates -> stage 1 -> decision -> stage 2 -> outputs.

Over 400 lines: :class:`AugmentPipeline` is one class (~340 lines) whose stages share its built components.

Work is cut into chunks of ``chunk_size`` dialogues; each finished chunk is one Parquet file, so a crashed
run restarts where it stopped (finished chunks are not recomputed). Outputs in ``output_dir``:

- ``features.parquet``: one row per candidate utterance with every feature and decision;
- ``augmented.parquet`` (+ ``.jsonl``): the dialogues in the unified schema; each replaced turn has empty
  text and one :class:`~mmdial_data.ImageRef` with level ``replacement`` and the VQA score, and keeps the
  original text and features in ``annotations.extra["imad"]``;
- ``report.html``; ``provenance.json``; ``chunks/``; ``cache/`` (pool embeddings, unless ``embedding_cache``
  names a shared folder).

Engines: with ``engine="ray"`` (``AugmentConfig.engine``, ``--engine ray``; ``pip install "mmdial-augment[ray]"``)
the pool is embedded on Ray and the pending chunks run there as engine shards, one chunk per shard: each actor
builds the models once (:class:`AugmentChunkWorker`) and runs stage 1, the decision and stage 2 on whole chunks,
with the chunk's seed, exactly as the local loop does. Finished shards become ``chunks/chunk-NNNNN.parquet``, so
outputs, resumption and the fingerprint are the same on either engine (a run may be resumed on the other one).
Components passed in built (encoder, pool, captioner, VQA, nouns) are pickled once to each actor; the others
are built there from the config, so ``output_dir``, the pool and ``embedding_cache`` must be paths every worker
can reach.

Example:
    >>> from mmdial_augment import AugmentConfig, run_augment
    >>> cfg = AugmentConfig.from_dict({"inputs": [{"reader": "dailydialog", "path": "dd/validation"}],
    ...                                "pool": {"path": "/usr/share/tuxpaint/stamps", "kind": "tuxpaint"}})
    >>> result = run_augment(cfg)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_augment.candidates import Candidate, candidates
from mmdial_augment.chunks import ChunkStore
from mmdial_augment.config import AugmentConfig
from mmdial_augment.decision import Decision
from mmdial_augment.feature_rows import FEATURE_COLUMNS as FEATURE_COLUMNS
from mmdial_augment.feature_rows import empty_columns as empty_columns
from mmdial_augment.feature_rows import feature_columns as feature_columns
from mmdial_augment.features import FeatureExtractor
from mmdial_augment.pool import ImagePool, load_pool
from mmdial_augment.run_inputs import get_retrieval_encoder as get_retrieval_encoder
from mmdial_augment.run_inputs import load_dialogues as load_dialogues
from mmdial_augment.run_inputs import seed_everything as seed_everything
from mmdial_augment.selection import select_images
from mmdial_augment.thresholds import Thresholds, thresholds_for

if TYPE_CHECKING:
    from mmdial_augment.captioners import Captioner
    from mmdial_augment.vqa import VQABackend
    from mmdial_data import Dialogue
    from mmdial_data.engines import Engine
    from mmdial_retrieval.encoder import DualEncoder


@dataclass
class RunResult:
    """What a run produced: output paths and counts."""

    output_dir: Path
    features_path: Path
    augmented_path: Path
    report_path: Path | None
    n_dialogues: int
    n_candidates: int
    n_replaceable: int
    n_replaced: int
    chunks_computed: int
    chunks_reused: int
    skipped: list[str] = field(default_factory=list)
    plausibility: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """Counts as a JSON-able mapping."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


class AugmentPipeline:
    """One configured run; pass already-built components (encoders, pool, captioner, VQA) to reuse them.

    Args:
        config: The run configuration.
        encoder: Image-text encoder (default: ``get_encoder(config.encoder)``).
        sentence_encoder: Text encoder for ``sent_sim`` (default: ``get_encoder(config.sentence_encoder)``).
        pool: The image pool (default: :func:`~mmdial_augment.pool.load_pool` of ``config.pool``).
        captioner: Default: ``get_captioner(config.captioner.backend, **options)``.
        vqa: Default: ``get_vqa_backend(config.vqa.backend, ...)``.
        nouns: Callable texts -> noun lemmas (default: spaCy :class:`~mmdial_augment.nouns.NounExtractor`).
        progress: Show tqdm progress bars per stage.
        engine: Where pool embedding and the chunks run: ``"local"``, ``"ray"`` or an engine instance
            (``RayEngine(address="auto", workers=8)``); default ``config.engine``.
        engine_options: Options of a named engine (default ``config.engine_options`` when ``engine`` is not given).
    """

    def __init__(
        self,
        config: AugmentConfig,
        *,
        encoder: DualEncoder | None = None,
        sentence_encoder: DualEncoder | None = None,
        pool: ImagePool | None = None,
        captioner: Captioner | None = None,
        vqa: VQABackend | None = None,
        nouns: Any = None,
        progress: bool = True,
        engine: str | Engine | None = None,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        from mmdial_data.engines import resolve_engine

        self.config = config
        if engine is None:
            engine = config.engine
            engine_options = config.engine_options if engine_options is None else engine_options
        #: The engine for pool embedding and chunks; None runs them in this process.
        self.engine: Engine | None = resolve_engine(engine, engine_options)
        given = {"encoder": encoder, "sentence_encoder": sentence_encoder, "pool": pool}
        given.update({"captioner": captioner, "vqa": vqa, "nouns": nouns})
        self._given = {k: v for k, v in given.items() if v is not None}
        self._encoder = encoder
        self._sentence_encoder = sentence_encoder
        self._pool = pool
        self._captioner = captioner
        self._vqa = vqa
        self._nouns = nouns
        self.progress = progress
        self.out = Path(config.output_dir)

    # ---- components (built lazily, so a fully resumed run loads no model) ----------------------------------
    @property
    def encoder(self) -> DualEncoder:
        if self._encoder is None:
            self._encoder = get_retrieval_encoder(self.config.encoder)
        return self._encoder

    @property
    def sentence_encoder(self) -> DualEncoder:
        if self._sentence_encoder is None:
            self._sentence_encoder = get_retrieval_encoder(self.config.sentence_encoder)
        return self._sentence_encoder

    @property
    def pool(self) -> ImagePool:
        if self._pool is None:
            self._pool = load_pool(
                self.config.pool,
                self.encoder,
                workdir=self.out / "pool",
                cache_dir=self.embedding_cache_dir,
                batch_size=self.config.batch_size,
                progress=self.progress,
                engine=self.engine,
            )
        if self._pool.embeddings is None or self._pool.encoder_id != self.encoder.encoder_id:
            raise ValueError(
                f"the pool passed in has no embeddings from {self.encoder.encoder_id!r}; "
                "use mmdial_augment.pool.with_embeddings"
            )
        return self._pool

    @property
    def embedding_cache_dir(self) -> Path:
        """The pool's embedding cache: ``config.embedding_cache`` or ``<output_dir>/cache``."""
        return Path(self.config.embedding_cache) if self.config.embedding_cache else self.out / "cache"

    @property
    def captioner(self) -> Captioner:
        if self._captioner is None:
            from mmdial_augment.captioners import get_captioner

            self._captioner = get_captioner(self.config.captioner.backend, **self.config.captioner.options)
        return self._captioner

    @property
    def vqa(self) -> VQABackend:
        if self._vqa is None:
            from mmdial_augment.vqa import get_vqa_backend

            v = self.config.vqa
            self._vqa = get_vqa_backend(v.backend, question=v.question, batch_size=v.batch_size, **v.options)
        return self._vqa

    @property
    def nouns(self) -> Any:
        if self._nouns is None:
            from mmdial_augment.nouns import NounExtractor

            self._nouns = NounExtractor()
        return self._nouns

    @property
    def thresholds(self) -> Thresholds:
        return thresholds_for(
            self.config.encoder if self._encoder is None else self.encoder.encoder_id,
            self.encoder.info(),
            self.config.thresholds,
        )

    def fingerprint(self) -> str:
        """The resume key: :meth:`AugmentConfig.fingerprint` plus the thresholds the encoder name resolves to
        (so finished chunks are not reused after :data:`~mmdial_augment.thresholds.ENCODER_THRESHOLDS` changes);
        needs no model."""
        import hashlib

        th = thresholds_for(self.config.encoder, None, self.config.thresholds).to_dict()
        key = self.config.fingerprint() + json.dumps(th, sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def decision(self) -> Decision:
        d = self.config.decision
        if d.rule == "threshold":
            return Decision("threshold")
        from mmdial_augment.classifier import load_classifier

        assert d.classifier is not None
        return Decision("classifier", load_classifier(d.classifier), d.cutoff_value())

    # ---- the run -------------------------------------------------------------------------------------------
    def run(self, *, overwrite: bool = False, report: bool = True) -> RunResult:
        """Run (or resume) the pipeline and write every output."""
        from tqdm.auto import tqdm

        cfg = self.config
        seed_everything(cfg.seed)
        dialogues = load_dialogues(cfg)
        chunks = [dialogues[i : i + cfg.chunk_size] for i in range(0, len(dialogues), cfg.chunk_size)]
        cands = [
            [c for d in chunk for c in candidates(d, min_words=cfg.min_words, max_words=cfg.max_words)]
            for chunk in chunks
        ]
        store = ChunkStore(self.out, self.fingerprint())
        store.open(len(chunks), overwrite=overwrite)
        decision = self.decision()
        todo = [k for k in range(len(chunks)) if not store.done(k)]
        if self.engine is not None and todo:
            self.run_chunks_on_engine(self.engine, todo, cands, store)
            todo_local: list[int] = []
        else:
            todo_local = todo
        bar1 = tqdm(
            total=sum(len(cands[k]) for k in todo_local),
            desc="stage 1 (features)",
            unit="utt",
            disable=not self.progress or not todo_local,
        )
        bar2 = tqdm(total=0, desc="stage 2 (VQA)", unit="utt", disable=not self.progress or not todo_local)
        try:
            for k in todo_local:
                seed_everything(cfg.seed + k)
                store.write(k, self.process_chunk(cands[k], decision, bar1, bar2))
        finally:
            bar1.close()
            bar2.close()
        rows = store.read_all()
        return self.finish(dialogues, rows, len(chunks) - len(todo), len(todo), report=report)

    def run_chunks_on_engine(self, engine: Engine, todo: list[int], cands: list[list[Candidate]], store: Any) -> None:
        """Compute chunks ``todo`` on ``engine`` (one engine shard per chunk) and store them as chunk files.

        The pool is embedded first (on the engine too), so that workers only read the embedding cache. The
        shards go to ``<output_dir>/engine-chunks`` (resumable while the call runs) and are moved into
        ``chunks/`` when every one is done.
        """
        import shutil

        from mmdial_data.engines import run_batches

        _ = self.pool
        scratch = self.out / "engine-chunks"
        run = run_batches(
            [(k, cands[k]) for k in todo],
            AugmentChunkWorker,
            worker_kwargs={"config": self.worker_config(), "components": ShippedComponents(self.shipped_components())},
            out_dir=scratch,
            engine=engine,
            batch_size=1,
            shard_size=1,
            job_version=self.fingerprint(),
            progress=self.progress,
        )
        for k, path in zip(todo, run.shards, strict=True):
            os.replace(path, store.path(k))
        shutil.rmtree(scratch, ignore_errors=True)

    def worker_config(self) -> dict[str, Any]:
        """The config for engine workers: paths made absolute (workers may start elsewhere), engine ``local``."""
        d = self.config.to_dict()
        d["output_dir"] = str(self.out.resolve())
        d["embedding_cache"] = str(self.embedding_cache_dir.resolve())
        d["pool"]["path"] = str(Path(d["pool"]["path"]).resolve())
        if d["decision"].get("classifier"):
            d["decision"]["classifier"] = str(Path(d["decision"]["classifier"]).resolve())
        d["engine"], d["engine_options"] = "local", {}
        return d

    def shipped_components(self) -> dict[str, Any]:
        """The components passed in built (not those built from the config), ready to pickle to workers."""
        import dataclasses

        out = dict(self._given)
        if "pool" in out:
            out["pool"] = dataclasses.replace(out["pool"], _index=None)  # a faiss index does not pickle
        return out

    def process_chunk(
        self, cands: list[Candidate], decision: Decision, bar1: Any = None, bar2: Any = None
    ) -> dict[str, list[Any]]:
        """Stage 1, decision and stage 2 for the candidates of one chunk -> the chunk's columns."""
        cfg = self.config
        if not cands:
            return empty_columns()
        pool = self.pool
        extractor = self._extractor()
        feats = extractor([c.utterance for c in cands])
        if bar1 is not None:
            bar1.update(len(cands))
        proba = decision.probabilities(feats.matrix())
        replaceable = decision.decide(feats.threshold, proba)
        assert pool.embeddings is not None
        idx = np.nonzero(replaceable)[0]
        selections: dict[int, Any] = {}
        if len(idx):
            if bar2 is not None:
                bar2.total += len(idx)
                bar2.refresh()
            hits = pool.search(feats.text_embeddings[idx], k=cfg.vqa.top_n)
            requests = [(cands[i].utterance, hits.rows[j].tolist(), hits.scores[j].tolist()) for j, i in enumerate(idx)]
            for i, sel in zip(idx, select_images(requests, pool, self.vqa, cfg.vqa.min_confidence), strict=True):
                selections[int(i)] = sel
            if bar2 is not None:
                bar2.update(len(idx))
        return feature_columns(
            cands,
            feats,
            proba,
            replaceable,
            selections,
            pool,
            vqa_name=self.vqa.name if selections else cfg.vqa.backend,
            encoder_id=self.encoder.encoder_id,
        )

    def _extractor(self) -> FeatureExtractor:
        if not hasattr(self, "_feature_extractor"):
            self._feature_extractor = FeatureExtractor(
                self.encoder,
                self.pool,
                self.sentence_encoder,
                self.captioner,
                self.nouns,
                self.thresholds,
                batch_size=self.config.batch_size,
            )
        return self._feature_extractor

    def finish(
        self, dialogues: list[Dialogue], rows: dict[str, list[Any]], reused: int, computed: int, *, report: bool = True
    ) -> RunResult:
        """Write features, augmented dataset, provenance and report from the chunk rows."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from mmdial_augment.io_utils import atomic_write, atomic_write_text
        from mmdial_augment.outputs import augment_dialogues
        from mmdial_data import write_dialogues
        from mmdial_data.provenance import provenance

        rows = rows or empty_columns()
        features_path = self.out / "features.parquet"
        table = pa.table(rows)
        atomic_write(features_path, lambda tmp: pq.write_table(table, tmp))
        augmented = augment_dialogues(dialogues, rows)
        augmented_path = self.out / "augmented.parquet"
        write_dialogues(augmented, augmented_path)
        write_dialogues(augmented, self.out / "augmented.jsonl")
        skipped = sorted({s for lst in rows.get("skipped_images", []) for s in (lst or [])})
        pool_info: dict[str, Any] = {}
        if self._pool is not None:
            pool_info = self._pool.info()
            skipped = [f"{s['image_id']}: {s['reason']}" for s in pool_info["skipped"]] + skipped
        result = RunResult(
            self.out,
            features_path,
            augmented_path,
            None,
            len(dialogues),
            len(rows["utterance"]),
            int(sum(rows["replaceable"])),
            int(sum(rows["replaced"])),
            computed,
            reused,
            skipped,
        )
        if self._pool is not None and result.n_replaced:
            from mmdial_augment.plausibility import plausibility

            result.plausibility = plausibility(rows, self._pool.captions, seed=self.config.seed)
        prov = provenance(
            config=self.config.to_dict(),
            seed=self.config.seed,
            extra={
                "fingerprint": self.fingerprint(),
                "counts": result.summary(),
                "pool": pool_info,
                "decision": self.decision().describe(),
                "thresholds": self.thresholds.to_dict() if self._encoder is not None else self.config.thresholds,
            },
        )
        atomic_write_text(self.out / "provenance.json", json.dumps(prov, indent=2, default=str))
        if report:
            from mmdial_augment.report import write_report

            result.report_path = write_report(
                self.out / "report.html", rows, dialogues, self.config, pool=self._pool, summary=result.summary()
            )
        return result


class ShippedComponents:
    """Built components sent to engine workers; the ``repr`` (part of the shard digests) names them only."""

    def __init__(self, components: Mapping[str, Any]):
        self.components = dict(components)

    def __repr__(self) -> str:
        return f"ShippedComponents({sorted(self.components)})"


class AugmentChunkWorker:
    """Engine worker: builds an :class:`AugmentPipeline` once (models load once per worker), then turns items
    ``(chunk index, candidates)`` into the chunk's ``features.parquet`` columns, seeded as the local loop is.

    Args:
        config: :meth:`AugmentPipeline.worker_config` (a plain mapping).
        components: Built components to use instead of building them from the config.
    """

    job_version = "augment-chunks-v1"

    def __init__(self, config: dict[str, Any], components: ShippedComponents | None = None):
        comps = components.components if components is not None else {}
        self.pipeline = AugmentPipeline(AugmentConfig.from_dict(config), progress=False, engine="local", **comps)
        self.decision = self.pipeline.decision()

    def __call__(self, batch: list[tuple[int, list[Candidate]]]) -> dict[str, list[Any]]:
        cols = empty_columns()
        for k, cands in batch:
            seed_everything(self.pipeline.config.seed + k)
            part = self.pipeline.process_chunk(cands, self.decision)
            for name, values in part.items():
                cols[name].extend(values)
        return cols


def run_augment(
    config: AugmentConfig | str | os.PathLike[str], *, overwrite: bool = False, progress: bool = True, **components: Any
) -> RunResult:
    """Run (or resume) the pipeline from a config object or YAML file; see :class:`AugmentPipeline` (``engine=``
    and ``engine_options=`` are passed on with the components)."""
    from mmdial_augment.config import load_config

    cfg = config if isinstance(config, AugmentConfig) else load_config(config)
    return AugmentPipeline(cfg, progress=progress, **components).run(overwrite=overwrite)
