"""Fine-tuning: multi-task loss over article and paragraph labels, model
selection on the dev split, the best model saved with its provenance."""

from __future__ import annotations

import copy
import math
import platform
import random
import time
from collections import Counter

import numpy as np
import torch
from tqdm.auto import tqdm

from model.chunking import Chunk, chunk_text, pad_batch, windowing_fingerprint
from model.config import ModelConfig
from model.inference import Prepared, Scorer, pick_device_dtype
from model.base import resolve_base_model
from model.loading import base_weights_sha256, build_model, load_network, save_model
from model.probabilities import class_probs
from model.schema import TaskSchema
from training.arguments import TrainingArguments
from training.provenance import code_version, data_fingerprint
from training.examples import IGNORE, add_teacher_targets, build_examples


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def class_weights(schema: TaskSchema, examples: list[dict], mode: str) -> dict[str, torch.Tensor]:
    """Per-class loss weights: inverse square root of the class frequency, mean 1."""
    out = {}
    for dim in schema.dimensions:
        counts = Counter(dim.level_class[e["levels"][dim.name]] for e in examples if e["levels"][dim.name] != IGNORE)
        if mode == "none" or not counts:
            out[dim.name] = torch.ones(len(dim.classes))
            continue
        w = torch.tensor([1.0 / math.sqrt(max(counts.get(c, 0), 1)) for c in range(len(dim.classes))])
        out[dim.name] = w * len(w) / w.sum()
    return out


def multitask_loss(schema, logits: dict, targets: dict, weights: torch.Tensor, cw: dict, level_weight: float,
                   soft: dict | None = None, soft_weight: float = 1.0, direction_weight: float = 0.0):
    """Per dimension: class NLL (class-weighted) + level_weight x level NLL; unlabelled items skipped.
    With soft targets (distillation): + soft_weight x cross-entropy to the teacher's levels.
    direction_weight > 0, for a dimension with a signed score (dovish vs hawkish): + that
    weight x the NLL of the item's side given that it takes one, P(hawkish) / (P(hawkish) +
    P(dovish)), on the items coded with a side. The class loss is dominated by neutral vs.
    not; this term spends a share of the gradient on which side."""
    total = torch.zeros(())
    for dim in schema.dimensions:
        if soft is not None and dim.name in soft:
            target, has = soft[dim.name]
            if has.any():
                logp = logits[dim.name][has].float().log_softmax(-1)
                w = weights[has]
                total = total + soft_weight * (-(target[has] * logp).sum(-1) * w).sum() / w.sum()
        y = targets[dim.name]
        keep = y != IGNORE
        if not keep.any():
            continue
        logp_level = logits[dim.name][keep].float().log_softmax(-1)
        level_class = torch.tensor(dim.level_class)
        logp_class = torch.stack([torch.logsumexp(logp_level[:, level_class == c], -1)
                                  for c in range(len(dim.classes))], -1)
        y_level = y[keep]
        y_class = level_class[y_level]
        w = weights[keep] * cw[dim.name][y_class]
        class_nll = -(logp_class.gather(1, y_class[:, None]).squeeze(1) * w).sum() / w.sum()
        level_nll = -(logp_level.gather(1, y_level[:, None]).squeeze(1) * weights[keep]).sum() / weights[keep].sum()
        total = total + class_nll + level_weight * level_nll
        if direction_weight and dim.score_classes:
            sides = torch.tensor([dim.classes.index(c) for c in dim.score_classes])
            sided = (y_class[:, None] == sides).any(-1)
            if sided.any():
                logp_sides = logp_class[sided][:, sides]
                logp_side = logp_sides - torch.logsumexp(logp_sides, -1, keepdim=True)
                y_side = (y_class[sided][:, None] == sides).float().argmax(-1)
                ws = w[sided]
                side_nll = -(logp_side.gather(1, y_side[:, None]).squeeze(1) * ws).sum() / ws.sum()
                total = total + direction_weight * side_nll
    return total


def tokenize(examples: list[dict], tokenizer, max_length: int) -> list[dict]:
    out = []
    for e in examples:
        chunks = chunk_text(e["text"], tokenizer, max_length)
        if chunks:
            out.append({**e, "chunks": [c.input_ids for c in chunks]})
    return out


def is_background(e: dict, schema: TaskSchema) -> bool:
    """A real example whose every label is a base class (neutral, absent)."""
    return e["kind"] not in ("synthetic", "distill") and all(
        e["levels"][d.name] == IGNORE or d.classes[d.level_class[e["levels"][d.name]]] not in d.signal_classes
        for d in schema.dimensions)


def make_batches(examples: list[dict], batch_size: int, max_chunks: int, rng: random.Random,
                 keep_background: float = 1.0, schema: TaskSchema | None = None) -> list[list[dict]]:
    """Shuffle, keep a fresh random share of background examples (the rest of this
    epoch's compute goes to the rare classes), take a random run of at most
    max_chunks windows per article, then pack items of similar length into batches
    of at most batch_size windows."""
    items = []
    for e in examples:
        if keep_background < 1 and is_background(e, schema) and rng.random() >= keep_background:
            continue
        chunks = e["chunks"]
        if len(chunks) > max_chunks:
            start = rng.randrange(len(chunks) - max_chunks + 1)
            chunks = chunks[start: start + max_chunks]
        items.append((e, chunks))
    rng.shuffle(items)
    batches, pool_size = [], batch_size * 50
    for s in range(0, len(items), pool_size):
        pool = sorted(items[s: s + pool_size], key=lambda it: max(len(c) for c in it[1]))
        current, n = [], 0
        for it in pool:
            if current and n + len(it[1]) > batch_size:
                batches.append(current)
                current, n = [], 0
            current.append(it)
            n += len(it[1])
        if current:
            batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(batch, schema, pad_id: int, max_width: int | None = None):
    ids, mask = pad_batch([c for _, chunks in batch for c in chunks], pad_id, max_width=max_width)
    doc_index = torch.tensor([d for d, (_, chunks) in enumerate(batch) for _ in chunks], dtype=torch.long)
    targets = {dim.name: torch.tensor([e["levels"][dim.name] for e, _ in batch]) for dim in schema.dimensions}
    weights = torch.tensor([e["weight"] for e, _ in batch], dtype=torch.float32)
    soft = None
    if any("soft" in e for e, _ in batch):
        soft = {}
        for dim in schema.dimensions:
            has = torch.tensor([dim.name in e.get("soft", {}) for e, _ in batch])
            rows = [e["soft"][dim.name] if dim.name in e.get("soft", {}) else [0.0] * len(dim.levels) for e, _ in batch]
            soft[dim.name] = (torch.tensor(rows, dtype=torch.float32), has)
    return ids, mask, doc_index, targets, weights, soft


def predict(scorer: Scorer, examples: list[dict]) -> dict[str, np.ndarray]:
    """Article level probabilities per dimension for tokenized examples."""
    docs = [Prepared([Chunk(c, "") for c in e["chunks"]], 0, 0) for e in examples]
    out = {d.name: [] for d in scorer.schema.dimensions}
    for s in range(0, len(docs), 64):
        pooled = scorer.pooled(docs[s: s + 64])
        for name, (levels, _, _) in pooled.items():
            out[name].append(levels.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def dev_metrics(schema: TaskSchema, examples: list[dict], probs: dict[str, np.ndarray]) -> dict:
    """Macro-F1 per dimension (the selection metric is their mean)."""
    from eval.metrics import macro_f1

    out = {}
    for dim in schema.dimensions:
        keep = [i for i, e in enumerate(examples) if e["levels"][dim.name] != IGNORE]
        gold = [dim.level_class[examples[i]["levels"][dim.name]] for i in keep]
        pred = class_probs(dim, torch.from_numpy(probs[dim.name][keep])).argmax(-1).tolist()
        out[f"{dim.name}_macro_f1"] = macro_f1(gold, pred, list(range(len(dim.classes))))
    out["selection"] = float(np.mean([out[f"{d.name}_macro_f1"] for d in schema.dimensions]))
    return out


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def init_from_teacher(net, teacher: str, log=print) -> int:
    """Copy the teacher's tensors into the student's trainable ones wherever name and
    shape match: with the same adapter rank that is the adapter of the layers the
    student keeps, plus the heads. Frozen base weights are never overwritten: a LoRA
    student saves only its adapter, so it must sit on the unchanged base. Returns how
    many tensors were copied."""
    teacher_net, _, _ = load_network(teacher, merge=False)
    source = teacher_net.state_dict()
    trainable = {name: p for name, p in net.named_parameters() if p.requires_grad}
    shared = {k: v for k, v in source.items() if k in trainable and trainable[k].shape == v.shape}
    net.load_state_dict(shared, strict=False)
    log(f"student initialised from the teacher: {len(shared)} of {len(trainable)} trainable tensors copied")
    return len(shared)


def train(args: TrainingArguments, log=print) -> dict:
    """Train, select on dev, save the best model to args.output_dir; returns the run record."""
    started = time.time()
    set_seed(args.seed)
    schema = args.schema()
    config = ModelConfig(schema=schema, base_model=args.base_model, max_length=args.max_length,
                         finetune=args.finetune, lora_r=args.lora_r, lora_alpha=args.lora_alpha,
                         lora_dropout=args.lora_dropout, name=args.name, encoder_layers=args.encoder_layers)
    splits = build_examples(args, schema)
    code = code_version()  # at the start: the code this run was launched with
    teacher_model = add_teacher_targets(splits, args, log) if args.teacher else None
    data_sha256 = data_fingerprint(splits)  # labelled and (for students) unlabelled examples, in order
    net, tokenizer = build_model(config, seed=args.seed)
    if args.teacher and args.student_init == "teacher":
        init_from_teacher(net, args.teacher, log)
    device, dtype = pick_device_dtype(args.device, {"auto": "auto", "bf16": "bf16", "fp32": "fp32"}[args.precision])
    net.to(device)
    train_ex = tokenize(splits["train"], tokenizer, args.max_length)
    dev_ex = tokenize(splits["dev"], tokenizer, args.max_length)
    log(f"train: {Counter(e['kind'] for e in train_ex)}; dev: {len(dev_ex)} articles; "
        f"device {device.type}, {'bf16 autocast' if dtype == torch.bfloat16 else 'fp32'}")
    cw = class_weights(schema, train_ex, args.class_weighting)
    rng = random.Random(args.seed)
    steps_per_epoch = len(make_batches(train_ex, args.batch_size, args.train_max_chunks, random.Random(0),
                                       args.neutral_sample_rate, schema))
    total_steps = steps_per_epoch * args.epochs
    head_params = list(net.heads.parameters())
    enc_params = [p for p in net.encoder.parameters() if p.requires_grad]
    optim = torch.optim.AdamW([{"params": enc_params, "lr": args.learning_rate},
                               {"params": head_params, "lr": args.head_learning_rate}], weight_decay=args.weight_decay)
    from transformers import get_linear_schedule_with_warmup

    sched = get_linear_schedule_with_warmup(optim, int(args.warmup_ratio * total_steps), total_steps)
    scorer = Scorer(net, tokenizer, config, "training", device=device.type,
                    dtype="bf16" if dtype == torch.bfloat16 else "fp32", autocast=True)
    history, best, best_state, bad = [], -1.0, None, 0
    pad = tokenizer.pad_token_id or 0
    for epoch in range(1, args.epochs + 1):
        net.train()
        batches = make_batches(train_ex, args.batch_size, args.train_max_chunks, rng, args.neutral_sample_rate, schema)
        bar = tqdm(batches, desc=f"epoch {epoch}/{args.epochs}", leave=False, mininterval=2)
        losses = []
        for batch in bar:
            ids, mask, doc_index, targets, weights, soft = collate(batch, schema, pad, args.max_length)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                logits, _ = net(ids.to(device), mask.to(device), doc_index.to(device), len(batch))
            loss = multitask_loss(schema, {k: v.cpu() for k, v in logits.items()}, targets, weights, cw,
                                  args.level_loss_weight, soft, args.distill_weight, args.direction_loss_weight)
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optim.step()
            sched.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        net.eval()
        metrics = dev_metrics(schema, dev_ex, predict(scorer, dev_ex))
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), **metrics})
        log(f"epoch {epoch}: loss {np.mean(losses):.3f}, dev " +
            ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
        if metrics["selection"] > best:
            best, bad = metrics["selection"], 0
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in net.state_dict().items()})
        else:
            bad += 1
            if bad >= args.patience:
                log(f"early stop: no dev improvement for {bad} epochs")
                break
    net.load_state_dict(best_state)
    best_epoch = max(history, key=lambda h: h["selection"])
    config.training = {
        "arguments": args.to_dict(), "history": history, "best_epoch": best_epoch["epoch"],
        "dev": {k: v for k, v in best_epoch.items() if k not in ("epoch", "train_loss")},
        "examples": {s: dict(Counter(e["kind"] for e in splits[s])) for s in ("train", "dev", "test")},
        "seconds": round(time.time() - started, 1), "cpu": cpu_model(), "device": device.type,
        "precision": "bf16" if dtype == torch.bfloat16 else "fp32", "torch": torch.__version__,
        "code": code, "data_sha256": data_sha256,
        # of the chunk_text this module cut the examples with (eval.windows_effect swaps it)
        "windowing": windowing_fingerprint(tokenizer, args.max_length, chunk_text),
        # the weights an adapter sits on: loading it on others warns (model.loading.base_warning)
        **({"base_weights": base_weights_sha256(resolve_base_model(config.base_model))}
           if config.finetune == "lora" else {}),
        **({"teacher_model": teacher_model} if teacher_model else {}),
    }
    net.to("cpu")
    out = save_model(net, tokenizer, config, args.output_dir)
    log(f"saved {out} (best epoch {best_epoch['epoch']}, dev selection {best:.3f}, {config.training['seconds']}s)")
    return {"output_dir": str(out), **config.training}
