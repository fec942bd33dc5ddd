#!/usr/bin/python3
"""Golden fixtures for model parity: PyTorch computes what nullspace's engine must reproduce.

Regenerate (needs only Debian's python3-torch; no safetensors package, no network):

    /usr/bin/python3 scripts/make_parity_fixture.py            # writes test/fixtures/parity_{reference,preln}.safetensors
    /usr/bin/python3 scripts/make_parity_fixture.py --check FILE   # list any .safetensors file (pure-Python reader)

The output is deterministic (seeded CPU RNG): rerunning with the same torch gives identical bytes.

For each block type ("reference", "preln") one file holds, as F32:
  - every parameter under its GPT-2 name (Linear weights [out, in]); for "reference", ln_2 is present but unused;
  - input.tokens [2, 12] and input.targets [2, 12] (ids as floats; about 20% of targets are PAD = 20, ignored);
  - expected.logits [2, 12, 59] and expected.loss [1] (mean cross-entropy over non-PAD targets);
  - grad.<name> = d loss / d parameter for every parameter (zeros for ln_2 in "reference");
  - __metadata__.config = JSON {n_layer, n_head, n_embd, vocab_size, block_size, block, pos}, plus a few
    informational keys (pad_id, layer_norm_eps, torch_version, generator).

How the values are made exact: parameters are drawn with the minGPT init, then *every* parameter
(biases and LayerNorm weights too, so they are exercised) gets random noise (N(0, 1/fan_in) on
matrices, N(0, 0.2^2) on vectors: large enough that activations are O(1), see make()); they are rounded to
float32 (what the file stores); the model then runs in float64 on those float32 values, with the
sinusoidal position table also rounded to float32 as the engine stores it. So the expected values are
the float64 truth for exactly the stored inputs, and a float32 engine should match to ~1e-5 relative.

The model itself is bench/torch_train.py's GPT (one definition for the benchmark and the fixtures).
"""
import argparse
import json
import math
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))

CONFIG = dict(n_layer=2, n_head=2, n_embd=16, vocab_size=59, block_size=32, pos="pe")
B, T = 2, 12
PAD = 20
SEED = 20240601


# ---------------------------------------------------------------- safetensors, the whole format

def write_safetensors(path, tensors, metadata):
    """F32 only. Header padded with spaces to make 8+N a multiple of 8; tensors sorted by name."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)


DTYPES = {"F64": ("d", 8), "F32": ("f", 4), "F16": ("e", 2), "I64": ("q", 8), "I32": ("i", 4),
          "I16": ("h", 2), "I8": ("b", 1), "U8": ("B", 1), "BOOL": ("?", 1)}


def read_safetensors(path):
    """Returns ({name: (dtype, shape, [values])}, metadata), checking the layout rules on the way."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n].decode("utf-8"))
    buf = data[8 + n:]
    metadata = header.pop("__metadata__", {})
    out, spans = {}, []
    for name, e in header.items():
        begin, end = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        if e["dtype"] == "BF16":  # no struct code: widen to float32 bits
            raw = struct.unpack("<%dH" % count, buf[begin:end])
            values = [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in raw]
            size = 2
        else:
            code, size = DTYPES[e["dtype"]]
            values = list(struct.unpack("<%d%s" % (count, code), buf[begin:end]))
        assert end - begin == count * size, f"{name}: offsets do not match shape"
        out[name] = (e["dtype"], e["shape"], values)
        spans.append((begin, end))
    pos = 0
    for begin, end in sorted(spans):
        assert begin == pos, f"hole or overlap at byte {pos}"
        pos = end
    assert pos == len(buf), "trailing bytes in the data buffer"
    return out, metadata


def check(path):
    tensors, metadata = read_safetensors(path)
    print(f"{path}: {len(tensors)} tensors, metadata {json.dumps(metadata)}")
    for name, (dtype, shape, values) in tensors.items():
        s = sum(values)
        print(f"  {name:45s} {dtype:5s} {str(shape):16s} sum={s:+.8g} first={values[:3]}")


# ---------------------------------------------------------------- the fixture

def make(block, out_dir):
    import torch
    from torch_train import PAD as MODEL_PAD, build_model_classes

    assert MODEL_PAD == PAD
    torch.set_num_threads(2)
    cfg = dict(CONFIG, block=block)
    g = torch.Generator().manual_seed(SEED)
    model = build_model_classes(torch)(cfg).double()
    model.init_weights(generator=g)
    with torch.no_grad():
        for name, p in model.named_parameters():
            # The perturbation is deliberately not tiny: with minGPT-init-sized weights every
            # activation is ~0.05, attention is near-uniform and GELU-tanh differs from exact GELU by
            # 4e-8 relative (measured), below float32 noise, so a wrong kernel would pass. Noise of
            # 1/sqrt(fan_in) on matrices and 0.2 on vectors (biases, LayerNorm) gives O(1)
            # pre-activations and logits up to ~3: then GELU variants differ by ~3e-4, a missing causal
            # mask by ~1, and every bias and LayerNorm gradient is clearly non-trivial.
            std = 1.0 / math.sqrt(p.shape[1]) if p.dim() == 2 else 0.2
            p.add_(torch.randn(p.shape, generator=g, dtype=torch.float64) * std)
            p.copy_(p.float().double())  # the stored float32 values are the truth
        model.pe.copy_(model.pe.float().double())

    tokens = torch.randint(0, cfg["vocab_size"], (B, T), generator=g)
    targets = torch.randint(0, cfg["vocab_size"], (B, T), generator=g)
    targets[torch.rand(B, T, generator=g) < 0.2] = PAD
    assert 0 < int((targets == PAD).sum()) < B * T

    logits, loss = model(tokens, targets)
    loss.backward()

    flat = lambda t: t.detach().reshape(-1).tolist()  # float64 → rounded to float32 by struct "<f"
    tensors = {}
    for name, p in model.named_parameters():
        tensors[name] = (list(p.shape), flat(p))
        grad = p.grad if p.grad is not None else torch.zeros_like(p)  # ln_2 in "reference": unused
        tensors["grad." + name] = (list(p.shape), flat(grad))
    tensors["expected.logits"] = (list(logits.shape), flat(logits))
    tensors["expected.loss"] = ([1], [float(loss)])
    tensors["input.tokens"] = ([B, T], [float(v) for v in flat(tokens)])
    tensors["input.targets"] = ([B, T], [float(v) for v in flat(targets)])

    if block == "reference":
        for i in range(cfg["n_layer"]):
            for part in ("weight", "bias"):
                assert not any(tensors[f"grad.transformer.h.{i}.ln_2.{part}"][1]), "ln_2 must be unused"

    config = {k: cfg[k] for k in ("n_layer", "n_head", "n_embd", "vocab_size", "block_size", "block", "pos")}
    metadata = {
        "config": json.dumps(config, separators=(",", ":")),
        "pad_id": str(PAD),
        "layer_norm_eps": "1e-5",
        "loss": "mean cross-entropy over targets != pad_id",
        "torch_version": torch.__version__,
        "generator": "scripts/make_parity_fixture.py (computed in float64, stored as F32)",
    }
    path = os.path.join(out_dir, f"parity_{block}.safetensors")
    write_safetensors(path, tensors, metadata)
    print(f"{path}: {os.path.getsize(path)} bytes, loss {float(loss):.6f}, {len(tensors)} tensors")


def main():
    ap = argparse.ArgumentParser(description="Generate the PyTorch parity fixtures.")
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures"))
    ap.add_argument("--check", metavar="FILE", help="print a safetensors file's contents instead")
    args = ap.parse_args()
    if args.check:
        return check(args.check)
    os.makedirs(args.out, exist_ok=True)
    for block in ("reference", "preln"):
        make(block, args.out)


if __name__ == "__main__":
    main()
