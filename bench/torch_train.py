#!/usr/bin/python3
"""PyTorch peer benchmark: one full minGPT training step, the same model as nullspace's engine.

Times forward + backward + grad-norm clip (1.0) + AdamW(betas 0.9/0.95, weight decay 0.1 on Linear
weights only, as minGPT and our trainer do) on random tokens, and prints one JSON line:
  {"tokens_per_s", "step_ms_median", "threads", "torch_version", "config", ...}

    /usr/bin/python3 bench/torch_train.py --threads 2
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_train.py --threads 2

PyTorch 1.13 on 2 cores is much slower with 2 threads unless OPENBLAS_NUM_THREADS=1 (its OpenMP and
OpenBLAS pools fight over the cores), so compare against its best setting. `--openblas-threads N`
sets that variable for you (it must be set before torch is imported, hence the lazy import).

The model (`GPT`) is also imported by scripts/make_parity_fixture.py, so the parity fixtures and this
benchmark describe one and the same network. Parameter names are GPT-2's (`transformer.h.0.attn.c_attn.weight`,
Linear weights `[out, in]`), the names nullspace's checkpoints use.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

PAD = 20  # the vocabulary's PAD id: the loss's ignore_index everywhere


def build_model_classes(torch):
    """Defines the modules once torch is imported (keeps `import torch` after the env is set)."""
    nn = torch.nn
    F = torch.nn.functional

    class CausalSelfAttention(nn.Module):
        """minGPT attention written out: q·kᵀ/√d, causal mask to -inf, softmax, @v. Head h owns
        channels [h·hd, (h+1)·hd) of q, k and v, which are concatenated in that order in c_attn."""

        def __init__(self, cfg):
            super().__init__()
            C = cfg["n_embd"]
            self.n_head = cfg["n_head"]
            self.c_attn = nn.Linear(C, 3 * C)
            self.c_proj = nn.Linear(C, C)
            T = cfg["block_size"]
            self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)).view(1, 1, T, T), persistent=False)

        def forward(self, x):
            B, T, C = x.size()
            hd = C // self.n_head
            q, k, v = self.c_attn(x).split(C, dim=2)
            q = q.view(B, T, self.n_head, hd).transpose(1, 2)
            k = k.view(B, T, self.n_head, hd).transpose(1, 2)
            v = v.view(B, T, self.n_head, hd).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class MLP(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            C = cfg["n_embd"]
            self.c_fc = nn.Linear(C, 4 * C)
            self.gelu = nn.GELU(approximate="tanh")
            self.c_proj = nn.Linear(4 * C, C)

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            C = cfg["n_embd"]
            self.block = cfg["block"]
            self.ln_1 = nn.LayerNorm(C, eps=1e-5)
            self.attn = CausalSelfAttention(cfg)
            self.ln_2 = nn.LayerNorm(C, eps=1e-5)  # unused by "reference", kept so checkpoints match
            self.mlp = MLP(cfg)

        def forward(self, x):
            if self.block == "reference":
                # The authors' block: the normalised stream replaces x; ln_2 is never applied.
                h = self.ln_1(x)
                h = h + self.attn(h)
                return h + self.mlp(h)
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.cfg = cfg
            V, C, T = cfg["vocab_size"], cfg["n_embd"], cfg["block_size"]
            mods = dict(wte=nn.Embedding(V, C), h=nn.ModuleList([Block(cfg) for _ in range(cfg["n_layer"])]), ln_f=nn.LayerNorm(C, eps=1e-5))
            if cfg["pos"] == "learned":
                mods["wpe"] = nn.Embedding(T, C)
            self.transformer = nn.ModuleDict(mods)
            self.lm_head = nn.Linear(C, V, bias=False)
            if cfg["pos"] == "pe":
                self.register_buffer("pe", sinusoidal(torch, T, C), persistent=False)

        def init_weights(self, generator=None):
            """minGPT init: Linear/Embedding N(0, 0.02), biases 0, LayerNorm (1, 0); every c_proj
            weight N(0, 0.02/√(2·n_layer))."""
            std_proj = 0.02 / math.sqrt(2 * self.cfg["n_layer"])
            with torch.no_grad():
                for name, p in self.named_parameters():
                    if ".ln_" in name or name.startswith("transformer.ln_f"):
                        p.fill_(1.0 if name.endswith(".weight") else 0.0)
                    elif name.endswith(".weight"):
                        p.normal_(0.0, std_proj if name.endswith("c_proj.weight") else 0.02, generator=generator)
                    else:
                        p.zero_()

        def forward(self, idx, targets=None):
            B, T = idx.size()
            x = self.transformer.wte(idx)
            if self.cfg["pos"] == "pe":
                x = x + self.pe[:T].to(x.dtype)
            else:
                x = x + self.transformer.wpe(torch.arange(T, device=idx.device))
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            if targets is None:
                return logits, None
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD)
            return logits, loss

    return GPT


def sinusoidal(torch, T, C):
    """pe[t, 2i] = sin(t·10000^(−2i/C)), pe[t, 2i+1] = cos(same), computed in float64."""
    pos = torch.arange(T, dtype=torch.float64).unsqueeze(1)
    freq = torch.pow(torch.tensor(10000.0, dtype=torch.float64), -torch.arange(0, C, 2, dtype=torch.float64) / C)
    pe = torch.zeros(T, C, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


def decays(name):
    """Weight decay on Linear weights only (not embeddings, LayerNorm or biases), like our trainer."""
    return name.endswith(".weight") and ".ln_" not in name and not name.startswith("transformer.ln_f") and "wte" not in name and "wpe" not in name


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--block", type=int, default=96, help="tokens per sequence (and block_size)")
    ap.add_argument("--vocab", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    ap.add_argument("--openblas-threads", type=int, default=None, help="set OPENBLAS_NUM_THREADS (else the environment's value is used)")
    ap.add_argument("--block-type", choices=["reference", "preln"], default="reference")
    ap.add_argument("--pos", choices=["pe", "learned"], default="pe")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    if args.openblas_threads is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.openblas_threads)
    import torch  # after OPENBLAS_NUM_THREADS is final: OpenBLAS reads it once, at load

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = dict(n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd, vocab_size=args.vocab,
               block_size=args.block, block=args.block_type, pos=args.pos)
    model = build_model_classes(torch)(cfg)
    model.init_weights()
    params = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in params if decays(n)], "weight_decay": 0.1},
        {"params": [p for n, p in params if not decays(n)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    # A few pre-drawn random batches, cycled: data generation stays out of the timing.
    batches = [torch.randint(0, args.vocab, (args.batch, args.block + 1)) for _ in range(4)]
    times = []
    for step in range(args.warmup + args.steps):
        data = batches[step % len(batches)]
        x, y = data[:, :-1], data[:, 1:]
        t0 = time.perf_counter()
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if step >= args.warmup:
            times.append(dt)
    med = statistics.median(times)
    tokens = args.batch * args.block
    print(json.dumps({
        "tokens_per_s": round(tokens / med, 1),
        "tokens_per_s_mean": round(tokens * len(times) / sum(times), 1),
        "step_ms_median": round(med * 1000, 2),
        "step_ms_min": round(min(times) * 1000, 2),
        "threads": torch.get_num_threads(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "torch_version": torch.__version__,
        "final_loss": round(float(loss), 4),
        "parameters": sum(p.numel() for _, p in params),
        "config": {**cfg, "batch": args.batch, "steps": args.steps, "warmup": args.warmup},
    }))


if __name__ == "__main__":
    sys.exit(main())
