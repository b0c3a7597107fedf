"""`oped score --engine ray`: the same scoring on a Ray cluster.

The input (a JSON lines or Parquet file, or a folder of them) is cut into shards:
byte ranges of JSON lines files aligned to line starts, row groups of Parquet
files. Ray Data maps the shards over an actor pool; each actor loads the model
once and scores its shards with the local engine's code (model.pipeline), so rows,
columns and error rows are exactly those of a local run. Each shard is written to
OUTPUT/part-NNNNN.{jsonl,parquet} through a temporary file and a rename, so a
re-run skips finished shards and never sees half of one.

Ray is an optional extra: pip install "oped-stance[ray]".
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

SHARD_BYTES = 8 << 20  # about 8 MB of JSON lines per shard: ~1,500 news articles


def _require_ray():
    if importlib.util.find_spec("ray") is None:
        raise RuntimeError('--engine ray needs Ray: pip install "oped-stance[ray]" (or pip install "ray[data]")')


def input_files(path: str) -> list[Path]:
    """The files of a run, each checked: uncompressed JSON lines or Parquet only, so
    nothing in a folder is skipped without a word."""
    from model.readers import InputError, _format, file_bom_encoding, is_gzip_data

    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
    elif p.is_file():
        files = [p]
    else:
        raise FileNotFoundError(f"{path}: no such file or folder")
    if not files:
        raise FileNotFoundError(f"{path}: no input files")
    for f in files:
        try:
            fmt = _format(str(f))
        except InputError:
            fmt = "other"
        if f.suffix.lower() == ".gz" or is_gzip_data(f) or fmt not in ("jsonl", "parquet"):  # gzip without .gz too
            raise ValueError(f"{f}: the ray engine reads uncompressed .jsonl/.json or .parquet files "
                             "(shards are byte ranges or row groups); convert or remove this file")
        wide = file_bom_encoding(f) if fmt == "jsonl" else None
        if wide:  # byte ranges split UTF-8 lines only
            raise ValueError(f"{f}: the ray engine reads UTF-8 JSON lines and this file is {wide}; convert it "
                             f"(iconv -f {wide.upper()} -t UTF-8) or score it without --engine ray")
    return files


def plan_shards(path: str, shard_bytes: int = SHARD_BYTES) -> list[dict]:
    """Shard descriptors in input order, with the row and line counts before each."""
    from model.readers import is_blank

    shards, row = [], 0
    for f in input_files(path):
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(f).metadata
            for g in range(meta.num_row_groups):
                shards.append({"path": str(f), "kind": "parquet", "group": g, "first_row": row})
                row += meta.row_group(g).num_rows
            continue
        start, line, first_row, first_line, pos = 0, 0, row, 0, 0
        with open(f, "rb") as fh:
            for raw in iter(fh.readline, b""):
                pos += len(raw)
                line += 1
                if not is_blank(raw):  # the local reader's rule, so rows are numbered alike
                    row += 1
                if pos - start >= shard_bytes:
                    shards.append({"path": str(f), "kind": "jsonl", "start": start, "end": pos,
                                   "first_row": first_row, "first_line": first_line})
                    start, first_row, first_line = pos, row, line
        if pos > start:
            shards.append({"path": str(f), "kind": "jsonl", "start": start, "end": pos, "first_row": first_row,
                           "first_line": first_line})
    for k, s in enumerate(shards):
        s["shard"] = k
    return shards


def shard_records(shard: dict, text_field: str, id_field: str, title_field: str | None):
    from model.readers import read_jsonl_range, record

    if shard["kind"] == "jsonl":
        return read_jsonl_range(shard["path"], shard["start"], shard["end"], shard["first_row"], shard["first_line"],
                                text_field, id_field, title_field)
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(shard["path"]).read_row_group(shard["group"]).to_pylist()
    return (record(shard["first_row"] + i, r, text_field, id_field, title_field) for i, r in enumerate(rows))


@dataclass
class ShardOptions:
    model: str = "default"
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = 32
    text_field: str = "text"
    id_field: str = "id"
    title_field: str | None = None
    drop_fields: bool = False
    out_dir: str = "scores"
    shard_format: str = "jsonl"
    threads: int = 0  # torch threads per actor (0: torch's default)
    compile: bool = False  # torch.compile the encoder, once per actor (Scorer.compile)
    evidence: bool = True  # False: evidence columns left empty, their sentences not encoded
    evidence_method: str = "in-context"  # or "standalone" (model.inference)


class ShardScorer:
    """A Ray actor: loads the model once, then scores whole shards."""

    def __init__(self, options: dict):
        import torch

        from model import load_model

        self.o = ShardOptions(**options)
        if self.o.threads:
            torch.set_num_threads(self.o.threads)
        self.scorer = load_model(self.o.model, device=self.o.device, dtype=self.o.dtype, batch_size=self.o.batch_size,
                                 compile=self.o.compile, evidence_method=self.o.evidence_method)
        self._check_finished_shards()
        self.columns = self.scorer.output_columns()

    def _check_finished_shards(self) -> None:
        """Shards an earlier run finished must hold this actor's model id (weights and the
        precision it resolved to), which the plan's options alone cannot show."""
        others = finished_model_ids(Path(self.o.out_dir), self.o.shard_format) - {self.scorer.model_id}
        if others:
            raise ValueError(f"{self.o.out_dir} holds shards scored by {', '.join(sorted(others))}, not by "
                             f"{self.scorer.model_id}; re-run with that model and precision, or use a new folder")

    def __call__(self, batch: dict) -> dict:
        out = {"shard": [], "rows": [], "ok": [], "errors": [], "skipped": []}
        for k in range(len(batch["shard"])):
            shard = {key: _plain(batch[key][k]) for key in batch}
            out["shard"].append(shard["shard"])
            summary = self.score_shard(shard)
            out["rows"].append(summary.rows)
            out["ok"].append(summary.ok)
            out["errors"].append(summary.errors)
            out["skipped"].append(int(summary.rows == 0 and summary.skipped))
        return out

    def score_shard(self, shard: dict):
        from model.pipeline import Summary, write_scores
        from model.writers import JsonlSink, jsonl_to_parquet

        final = Path(self.o.out_dir) / f"part-{shard['shard']:05d}.{self.o.shard_format}"
        summary = Summary()
        if final.exists():  # finished by an earlier run
            summary.skipped = 1
            return summary
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp.jsonl")
        part = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        sink = JsonlSink(tmp)
        try:
            try:
                write_scores(shard_records(shard, self.o.text_field, self.o.id_field, self.o.title_field), sink,
                             self.scorer, summary, self.columns, drop_fields=self.o.drop_fields,
                             evidence=self.o.evidence,
                             # a CPU actor is scheduled for one core, which its encoder uses: no tokenizing
                             # thread beside it (pipeline.prefetch_helps); a GPU actor keeps one
                             prefetch=self.scorer.device.type != "cpu")
            finally:
                sink.close()
            if self.o.shard_format == "parquet":
                jsonl_to_parquet(tmp, part)
                os.replace(part, final)
            else:
                os.replace(tmp, final)
        finally:  # a failed shard leaves nothing behind; a re-run scores it again
            tmp.unlink(missing_ok=True)
            part.unlink(missing_ok=True)
        return summary


# the options that change what a row holds: a re-run with others would mix two kinds of rows
_ROW_OPTIONS = ("model", "dtype", "evidence", "evidence_method", "text_field", "id_field", "title_field",
                "drop_fields", "shard_format")


# options added with a default other than the behaviour before them: plans written before
# evidence_method existed were scored with standalone evidence
_DEFAULTS_BEFORE_THE_OPTION = {"evidence_method": "standalone"}


def finished_model_ids(out_dir: Path, shard_format: str) -> set[str]:
    """The `model` values of the first finished shard (a run writes one model throughout)."""
    done = sorted(out_dir.glob(f"part-*.{shard_format}"))
    if not done:
        return set()
    if shard_format == "parquet":
        import pyarrow.parquet as pq

        if "model" not in pq.read_schema(done[0]).names:
            return set()
        return {str(m) for m in pq.read_table(done[0], columns=["model"]).column("model").to_pylist() if m is not None}
    with open(done[0], encoding="utf-8") as f:
        first = f.readline()
    return {str(json.loads(first).get("model"))} if first.strip() else set()


def _shard_columns(path: Path) -> set[str] | None:
    """A finished shard's column names (its schema, or its first line), or None when it has no rows."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_metadata(path)
        return set(meta.schema.names) if meta.num_rows else None
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    return set(json.loads(first)) if first.strip() else None


def warn_on_shards_without_the_method(out_dir: Path, shard_format: str, n_shards: int, log=None) -> bool:
    """Shards finished before the evidence_method column existed lack it, while the ones a re-run
    adds have it (the plan check has made sure both used the same method): warn, as a resumed
    single output file does, when the folder mixes the two or is about to. True when it warned."""
    done = sorted(out_dir.glob(f"part-*.{shard_format}"))
    columns = [c for c in map(_shard_columns, done) if c is not None]
    lacking = sum("evidence_method" not in c for c in columns)
    if not lacking or (lacking == len(columns) and len(done) >= n_shards):
        return False  # every shard has the column, or all were finished by the old code and none is added
    (log or (lambda m: print(m, file=sys.stderr)))(
        f"warning: {lacking} shard(s) in {out_dir} were finished before the evidence_method column existed; "
        "their rows lack it and the other shards' rows have it (the same method: the plan was checked). Read the "
        "folder shard by shard, or score it again into a new folder for one schema throughout")
    return True


def _check_finished_weights(out_dir: Path, options: ShardOptions) -> None:
    """Before any actor starts: finished shards must come from the same weights (the model
    id without its precision, which only an actor knows once it has picked its device)."""
    from model.config import ModelConfig
    from model.loading import model_version, resolve_model_dir

    path = resolve_model_dir(options.model)
    weights = f"{ModelConfig.load(path).name}@{model_version(path)}"
    others = {m for m in finished_model_ids(out_dir, options.shard_format) if m.rsplit("-", 1)[0] != weights}
    if others:
        raise ValueError(f"{out_dir} holds shards scored by {', '.join(sorted(others))}, not by {weights} "
                         f"(--model {options.model}); re-run with that model, or use a new folder")


def _warn_on_other_windowing(options: ShardOptions, log=None) -> bool:
    """Once, in the driver (actors' output is not shown): the warning `oped score` gives when the
    model was trained on windows this code does not cut. True when it warned."""
    from model.config import ModelConfig
    from model.inference import model_warnings
    from model.loading import load_tokenizer, resolve_model_dir

    path = resolve_model_dir(options.model)
    warnings = model_warnings(ModelConfig.load(path), load_tokenizer(str(path)))
    for warning in warnings:
        (log or (lambda m: print(m, file=sys.stderr)))(f"warning: {warning}")
    return bool(warnings)


def _check_plan(out_dir: Path, input_path: str, shards: list[dict], options: dict | None = None) -> None:
    """A re-run may only skip finished shards of the same plan: the same files, sizes,
    modification times and shard boundaries, and the same row options (model, precision,
    evidence...). Anything else would mix two inputs, or two kinds of rows."""
    files = {str(f): [f.stat().st_size, f.stat().st_mtime_ns] for f in input_files(input_path)}
    plan = {"files": files, "shards": [[s["path"], s.get("start", s.get("group")), s.get("end")] for s in shards]}
    if options is not None:
        plan["options"] = {k: options.get(k) for k in _ROW_OPTIONS}
    path = out_dir / "_plan.json"
    if path.exists():
        old = json.loads(path.read_text())
        if {k: v for k, v in old.items() if k != "options"} != {k: v for k, v in plan.items() if k != "options"}:
            raise ValueError(f"{out_dir} holds shards of a different input or shard plan; use a new output folder")
        if "options" in plan and not any(out_dir.glob("part-*")):
            path.write_text(json.dumps(plan) + "\n")  # nothing scored yet: this run's options stand
        elif "options" in old and "options" in plan:
            # the values as given (--model as typed, --dtype auto as such); a key an older plan
            # lacks counts as its default then
            defaults = ShardOptions().__dict__
            before = {**defaults, **_DEFAULTS_BEFORE_THE_OPTION}
            was = {k: old["options"].get(k, before[k]) for k in _ROW_OPTIONS}
            now = {k: plan["options"].get(k, defaults[k]) for k in _ROW_OPTIONS}
            if not was["evidence"] and not now["evidence"]:
                was.pop("evidence_method"), now.pop("evidence_method")  # no evidence: the method changes nothing
            changed = sorted(k for k in was if was[k] != now[k])
            if changed:
                raise ValueError(f"{out_dir} holds shards scored with other options ({', '.join(changed)}); "
                                 "re-run with the same ones, or use a new output folder")
    elif any(out_dir.glob("part-*")):
        raise ValueError(f"{out_dir} holds shards but no plan; use a new output folder")
    else:
        path.write_text(json.dumps(plan) + "\n")


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def score_with_ray(input_path: str, out_dir: str, address: str | None = None, num_workers: int = 2,
                   gpus_per_worker: float = 0.0, shard_bytes: int = SHARD_BYTES, **options) -> dict:
    """Score INPUT into OUT_DIR/part-*.{jsonl,parquet}; returns counts. Ray starts a local
    cluster when address is None, or joins one ('auto', 'ray://host:10001')."""
    from model.inference import check_evidence_method

    # here, before any work, not in a worker's traceback
    check_evidence_method(options.get("evidence_method", ShardOptions.evidence_method))
    options.setdefault("threads", 1 if not gpus_per_worker else 0)  # one CPU per actor, as Ray schedules it
    _require_ray()
    import ray

    from model.readers import read_records

    next(iter(read_records(str(input_files(input_path)[0]), options.get("text_field", "text"),
                           options.get("id_field", "id"))), None)  # a wrong --text-field fails here, before work
    shards = plan_shards(input_path, shard_bytes)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    opts = ShardOptions(out_dir=str(Path(out_dir).resolve()), **options)
    _check_plan(Path(out_dir), input_path, shards, opts.__dict__)
    _check_finished_weights(Path(out_dir), opts)
    _warn_on_other_windowing(opts)
    warn_on_shards_without_the_method(Path(out_dir), opts.shard_format, len(shards))
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                 **({} if address else {"num_cpus": max(num_workers, 1)}))
    ds = ray.data.from_items(shards)
    resources = {"num_gpus": gpus_per_worker} if gpus_per_worker else {}
    ds = ds.map_batches(ShardScorer, fn_constructor_kwargs={"options": opts.__dict__}, batch_size=1,
                        concurrency=num_workers, num_cpus=1, **resources)
    done = ds.take_all()
    (Path(out_dir) / "_SUCCESS.json").write_text(json.dumps({"shards": len(shards), "input": input_path}) + "\n")
    return {"shards": len(shards), "rows": sum(d["rows"] for d in done), "ok": sum(d["ok"] for d in done),
            "errors": sum(d["errors"] for d in done), "skipped_shards": sum(d["skipped"] for d in done)}
