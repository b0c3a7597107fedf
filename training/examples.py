"""Training examples from either data source, as plain dicts:
{"text", "levels": {dimension: level index or -100 (unlabelled)}, "kind", "weight"}."""

from __future__ import annotations

import random
from fnmatch import fnmatch

from model.schema import SchemaError, TaskSchema
from training.arguments import ConfigError, TrainingArguments, pool_names
from training.data import DataError, iter_jsonl, load_labelled

IGNORE = -100


def _levels(schema: TaskSchema, row: dict, where: str) -> dict:
    out = {}
    for dim in schema.dimensions:
        value = row.get(dim.label_field)
        if value is None:
            out[dim.name] = IGNORE
            continue
        try:
            out[dim.name] = dim.level_index(value)
        except SchemaError as e:
            raise DataError(f"{where}: {e}") from None
    return out


def _rows(rows, schema, kind, weight, where):
    return [{"id": r.get("id", f"{where}:{n}"), "text": r["text"], "levels": _levels(schema, r, f"{where} row {n}"),
             "kind": kind, "weight": weight} for n, r in enumerate(rows)]


def balance_sides(examples: list[dict], schema: TaskSchema) -> list[dict]:
    """Examples with the weights of a signed dimension's larger side (hawkish, say) scaled
    down so that both sides carry the same total example weight. A paragraph set two-to-one
    on one side teaches that side, not direction. Neutral and unlabelled items keep their
    weight. An example's weight scales its loss on every dimension (its sovereignty code
    too), and the class weights (class_weighting) still apply on top. With several signed
    dimensions an item's factors multiply, and a later dimension's totals are taken after
    the earlier ones' scaling."""
    out = [dict(e) for e in examples]
    for dim in schema.dimensions:
        if not dim.score_classes:
            continue
        side_of = {dim.classes.index(c): k for k, c in enumerate(dim.score_classes)}
        sides = [side_of.get(dim.level_class[e["levels"][dim.name]]) if e["levels"][dim.name] != IGNORE else None
                 for e in out]
        totals = [sum(e["weight"] for e, s in zip(out, sides) if s == k) for k in (0, 1)]
        if not all(totals):
            continue  # one side absent: nothing to balance against
        target = min(totals)
        for e, s in zip(out, sides):
            if s is not None:
                e["weight"] *= target / totals[s]
    return out


def codebook_examples(args: TrainingArguments, schema: TaskSchema) -> dict[str, list[dict]]:
    data = load_labelled(args.corpus, args.annotations, args.synthetic if args.use_synthetic else None)
    excluded = pool_names(args.exclude_pools)
    articles = [r for r in data.articles["train"] if r.get("pool") not in excluded]
    train = _rows(articles, schema, "article", 1.0, "articles.jsonl")
    if args.use_paragraphs:
        # a paragraph goes with its article's pool, and a paragraph-only round has its own
        left_out = {r["id"] for r in data.articles["train"] if r.get("pool") in excluded}
        paragraphs = [r for r in data.paragraphs["train"] if r.get("pool") not in excluded and r["id"] not in left_out]
        rows = _rows(paragraphs, schema, "paragraph", args.paragraph_weight, "paragraphs.jsonl")
        train += balance_sides(rows, schema) if args.balance_paragraph_sides else rows
    if args.use_synthetic:
        synthetic = [r for r in data.synthetic if fnmatch(r["source_file"], args.synthetic_files)]
        train += _rows(synthetic, schema, "synthetic", args.synthetic_weight, "synthetic")
    return {"train": train,
            "dev": _rows(data.articles["dev"], schema, "article", 1.0, "articles.jsonl"),
            "test": _rows(data.articles["test"], schema, "article", 1.0, "articles.jsonl")}


def read_jsonl_file(path: str, text_field: str) -> list[dict]:
    rows = []
    for n, row in iter_jsonl(path):
        if not isinstance(row.get(text_field), str):
            raise DataError(f"{path}:{n}: no text in field {text_field!r}")
        rows.append({**row, "text": row[text_field]})
    return rows


def jsonl_examples(args: TrainingArguments, schema: TaskSchema) -> dict[str, list[dict]]:
    train = read_jsonl_file(args.train_file, args.text_field)
    if args.dev_file:
        dev = read_jsonl_file(args.dev_file, args.text_field)
    else:  # hold out a stratified share of train, by the first dimension's label
        rng = random.Random(args.seed)
        label = schema.dimensions[0].label_field
        by = {}
        for r in train:
            by.setdefault(str(r.get(label)), []).append(r)
        dev = []
        for key in sorted(by):
            rng.shuffle(by[key])
            dev += by[key][: round(len(by[key]) * args.dev_fraction)]
        held = {id(r) for r in dev}
        train = [r for r in train if id(r) not in held]
    test = read_jsonl_file(args.test_file, args.text_field) if args.test_file else []
    return {"train": _rows(train, schema, "article", 1.0, args.train_file),
            "dev": _rows(dev, schema, "article", 1.0, args.dev_file or "dev"),
            "test": _rows(test, schema, "article", 1.0, args.test_file or "test")}


def build_examples(args: TrainingArguments, schema: TaskSchema) -> dict[str, list[dict]]:
    splits = codebook_examples(args, schema) if args.data == "codebook" else jsonl_examples(args, schema)
    if not splits["train"]:
        raise ConfigError("no training examples")
    if not splits["dev"]:
        raise ConfigError("no dev examples: model selection needs a dev split")
    return splits


def add_teacher_targets(splits: dict[str, list[dict]], args: TrainingArguments, log=print) -> str:
    """Distillation: the teacher's article-level level probabilities become soft
    targets for every training example, plus unlabelled corpus articles (never
    ones in the dev or test split). Returns the teacher's model id (name and version hash)."""
    import random

    from model import load_model

    teacher = load_model(args.teacher)
    held_out = {e["id"] for s in ("dev", "test") for e in splits[s]}
    train_ids = {e["id"] for e in splits["train"]}
    extra = []
    if args.distill_articles:
        rows = [r for r in read_jsonl_file(args.distill_corpus, args.text_field)
                if r.get("id") not in held_out and r.get("id") not in train_ids]
        random.Random(args.seed).shuffle(rows)
        extra = [{"id": r.get("id"), "text": r["text"], "levels": {d.name: IGNORE for d in teacher.schema.dimensions},
                  "kind": "distill", "weight": 1.0} for r in rows[: args.distill_articles]]
    targets = splits["train"] + extra
    log(f"teacher {teacher.model_id} scores {len(targets)} training texts ({len(extra)} unlabelled)")
    for s in range(0, len(targets), 64):
        group = targets[s: s + 64]
        docs = [teacher.prepare(e["text"]) for e in group]
        pooled = teacher.pooled(docs)
        k = 0
        for e, d in zip(group, docs):
            if d.chunks:
                e["soft"] = {name: levels[k].tolist() for name, (levels, _, _) in pooled.items()}
                k += 1
    splits["train"] = [e for e in targets if "soft" in e or e["kind"] != "distill"]
    return teacher.model_id
