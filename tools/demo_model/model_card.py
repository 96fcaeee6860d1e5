"""Writes the cortex-demo model card (README.md of the model folder) from a training summary."""

from pathlib import Path


def write_model_card(folder: Path, summary: dict) -> None:
    """Fills the card template with the run's figures and writes `folder/README.md`."""
    template = (Path(__file__).resolve().parent / "model_card.md").read_text()
    sizes = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    ev = summary.get("eval", {})

    def pct(group: str) -> str:
        f = ev.get(group)
        return f"{f['passed']}/{f['total']} ({100 * f['passed'] / f['total']:.0f}%)" if f else "not run"

    a = summary["args"]
    values = {
        "params": f"{summary['parameters']:,}",
        "hidden": a["hidden"], "layers": a["layers"], "heads": a["heads"], "kv_heads": a["kv_heads"],
        "head_dim": a["head_dim"], "ffn": a["ffn"], "vocab": a["vocab"], "seed": a["seed"], "copy_examples": f"{a['copy_examples']:,}",
        "examples": f"{a['examples']:,}", "epochs": a["epochs"], "lr": a["lr"], "decision_weight": a["decision_weight"],
        "train_minutes": f"{summary['train_seconds'] / 60:.1f}", "threads": a["threads"], "batch_tokens": a["batch_tokens"],
        "torch": summary["torch"],
        "eval_tool_calls": pct("tool_calls"), "eval_followups": pct("followups"), "eval_plain": pct("plain"),
        "weights_bytes": f"{sizes.get('model.safetensors', 0):,}",
        "tokenizer_bytes": f"{sizes.get('tokenizer.json', 0):,}",
    }
    (folder / "README.md").write_text(template.format(**values))
