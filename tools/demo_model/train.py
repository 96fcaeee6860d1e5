"""Trains the cortex-demo Qwen3ForCausalLM on the rendered corpus, deterministically, on CPU.

Examples are tokenised the way the engine sees them (prompt and target encoded separately,
then concatenated), grouped into length buckets under a token budget, and right-padded, so
causal attention never sees padding and no attention mask is needed. The loss is the mean
cross-entropy over target tokens (the first one weighted up: it decides between a tool call and
words) plus a small weight on prompt tokens, which gives the model extra copying practice from
the conversation history.
"""

import math
import random
import time

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import Qwen3Config, Qwen3ForCausalLM


def model_config(tokenizer: Tokenizer, args) -> Qwen3Config:
    """The architecture: Qwen3 with qk-norm (built in), GQA and tied embeddings."""
    return Qwen3Config(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=args.hidden,
        intermediate_size=args.ffn,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        head_dim=args.head_dim,
        max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        attention_bias=False,
        use_sliding_window=False,
        bos_token_id=tokenizer.token_to_id("<|endoftext|>"),
        eos_token_id=tokenizer.token_to_id("<|im_end|>"),
        pad_token_id=tokenizer.token_to_id("<|endoftext|>"),
        dtype="float32",
    )


def encode_examples(examples: list[dict], tokenizer: Tokenizer) -> list[tuple[list[int], int]]:
    """(ids, prompt length) per example, prompt and target encoded separately as at serve time."""
    prompts = tokenizer.encode_batch([e["prompt"] for e in examples])
    targets = tokenizer.encode_batch([e["target"] for e in examples])
    return [(p.ids + t.ids, len(p.ids)) for p, t in zip(prompts, targets)]


def make_batches(encoded: list[tuple[list[int], int]], token_budget: int, rng: random.Random) -> list[list[int]]:
    """Indices grouped by similar length so that padded batches stay under `token_budget` tokens."""
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i][0]), i))
    batches, batch, longest = [], [], 0
    for i in order:
        length = len(encoded[i][0])
        if batch and max(longest, length) * (len(batch) + 1) > token_budget:
            batches.append(batch)
            batch, longest = [], 0
        batch.append(i)
        longest = max(longest, length)
    if batch:
        batches.append(batch)
    rng.shuffle(batches)
    return batches


def _tensors(encoded, batch: list[int], pad_id: int, decision_weight: float):
    """Padded ids, per-position target weights and the prompt mask; position t scores token t+1.

    The reply's first token (call a tool, or answer in words) weighs `decision_weight`: it is
    one token in twenty of a reply but decides whether the turn is right at all.
    """
    width = max(len(encoded[i][0]) for i in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    target = torch.zeros((len(batch), width), dtype=torch.float32)
    prompt = torch.zeros((len(batch), width), dtype=torch.float32)
    for row, i in enumerate(batch):
        seq, prompt_len = encoded[i]
        ids[row, : len(seq)] = torch.tensor(seq)
        prompt[row, : prompt_len - 1] = 1.0
        target[row, prompt_len - 1 : len(seq) - 1] = 1.0
        target[row, prompt_len - 1] = decision_weight
    return ids, target[:, :-1], prompt[:, :-1]


def train(examples: list[dict], copies: list[dict], tokenizer: Tokenizer, args, log=print) -> Qwen3ForCausalLM:
    """Trains on `copies` (warm-up) then `args.epochs` passes over `examples`; returns the model in eval mode.

    Half of the copy batches come first, so the model learns to copy before it meets the long
    tool conversations; the rest are shuffled into the main schedule to keep sharpening it.
    """
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    model = Qwen3ForCausalLM(model_config(tokenizer, args))
    model.config._attn_implementation = "sdpa"
    params = sum(p.numel() for p in model.parameters())
    log(f"model: {params} parameters")

    encoded = encode_examples(copies + examples, tokenizer)
    pad_id = tokenizer.token_to_id("<|endoftext|>")
    copy_batches = make_batches(encoded[: len(copies)], args.batch_tokens, rng)
    main = [
        [i + len(copies) for i in b]
        for _ in range(args.epochs)
        for b in make_batches(encoded[len(copies) :], args.batch_tokens, rng)
    ]
    split = len(copy_batches) // 2
    main += copy_batches[split:]
    rng.shuffle(main)
    schedule = copy_batches[:split] + main
    total = len(schedule)
    log(f"examples: {len(encoded)}, tokens: {sum(len(e[0]) for e in encoded)}, steps: {total}")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
    )
    warmup = max(1, int(total * 0.03))

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    model.train()
    start, running, running_target = time.time(), 0.0, 0.0
    for step, batch in enumerate(schedule):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        ids, target, prompt = _tensors(encoded, batch, pad_id, args.decision_weight)
        logits = model(input_ids=ids).logits[:, :-1]
        losses = F.cross_entropy(logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1), reduction="none")
        losses = losses.view(ids.size(0), -1)
        target_loss = (losses * target).sum() / target.sum()
        prompt_loss = (losses * prompt).sum() / prompt.sum().clamp(min=1)
        loss = target_loss + args.prompt_weight * prompt_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running += loss.item()
        running_target += target_loss.item()
        if (step + 1) % args.log_every == 0 or step + 1 == total:
            n = (step % args.log_every) + 1
            log(f"step {step + 1}/{total} loss {running / n:.4f} target {running_target / n:.4f} "
                f"lr {lr_at(step):.2e} {time.time() - start:.0f}s")
            running, running_target = 0.0, 0.0
    model.eval()
    return model
