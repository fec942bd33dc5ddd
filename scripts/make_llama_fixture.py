#!/usr/bin/env python3
"""Builds test/fixtures/llama-tiny: a tiny random Llama checkpoint in Hugging Face layout and reference outputs.

Run with /usr/bin/python3 (torch + numpy; transformers/safetensors/tokenizers are not needed):

    /usr/bin/python3 scripts/make_llama_fixture.py [out_dir]

What it writes (all deterministic from SEED):
- config.json                          LlamaForCausalLM, 3 layers, hidden 64, 4 heads / 2 kv heads (GQA), vocab 300
- model-0000{1,2,3}-of-00003.safetensors + model.safetensors.index.json   BF16 weights, sharded
- tokenizer.json, tokenizer_config.json   a Llama-2-style byte-fallback BPE and a short jinja chat_template
- reference.safetensors                F32 logits and hook activations from the plain-torch forward below
- reference.json                       prompts, hook names, the llama3 rope_scaling variant, tokenizer cases

The reference forward follows transformers' LlamaForCausalLM (eager attention) in float32 on the BF16-rounded
weights: RMSNorm in float32, rotate_half RoPE, repeat_kv GQA, causal softmax in float32, SwiGLU MLP.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

SEED = 1234
CFG = dict(
    architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=64, intermediate_size=160,
    num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
    max_position_embeddings=128, vocab_size=300, tie_word_embeddings=False, hidden_act="silu",
    attention_bias=False, bos_token_id=1, eos_token_id=2, torch_dtype="bfloat16",
)
# Llama-3.1 frequency scaling, chosen so that with head_dim 16 some frequencies are kept, some smoothed and some
# divided by `factor` (wavelengths 6.3 … 2e4 against the 16 / 64 thresholds).
LLAMA3_SCALING = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=64)
PROMPT_LENS = [5, 11, 17]
# Stored for every layer except ln2.hook_normalized (equal to mlp.hook_in by definition; the test checks that).
LAYER_HOOKS = ["hook_resid_pre", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v", "hook_attn_out",
               "hook_resid_mid", "mlp.hook_in", "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post"]

# ---------------------------------------------------------------- tokenizer

SPECIAL = ["<unk>", "<s>", "</s>"]
CHARS = list("▁abcdefghiklmnoprstuwy.,?!")
MERGES = [("▁", "t"), ("h", "e"), ("▁t", "he"), ("i", "n"), ("e", "r"), ("▁", "a"), ("o", "u"), ("▁", "i"),
          ("▁i", "s"), ("▁t", "o"), ("o", "w"), ("▁", "h"), ("▁h", "ow"), ("a", "n"), ("▁", "w")]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\\n' }}"
    "{% else %}{{ '[' + message['role'] + '] ' + message['content'] + eos_token }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '[assistant]' }}{% endif %}"
)


def vocab():
    pieces = SPECIAL + ["<0x%02X>" % b for b in range(256)] + CHARS + [a + b for a, b in MERGES]
    assert len(pieces) == CFG["vocab_size"] and len(set(pieces)) == len(pieces)
    return {p: i for i, p in enumerate(pieces)}


def tokenizer_json(v):
    added = [dict(id=i, content=s, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
             for i, s in enumerate(SPECIAL)]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": v, "merges": [a + " " + b for a, b in MERGES]},
    }


def bpe_segment(text, v):
    """Reference BPE of one normalised segment: chars (unknown ones as UTF-8 byte tokens), lowest-rank merges first."""
    syms = []
    for ch in text:
        if ch in v:
            syms.append(ch)
        else:
            syms.extend("<0x%02X>" % b for b in ch.encode("utf-8"))
    rank = {m: i for i, m in enumerate(MERGES)}
    while True:
        best = None
        for i in range(len(syms) - 1):
            r = rank.get((syms[i], syms[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            break
        i = best[1]
        syms[i:i + 2] = [syms[i] + syms[i + 1]]
    return [v[s] for s in syms]


def encode_ref(text, v, add_bos):
    """tokenizers' order: split out special tokens, normalise each other segment (so each gets the ▁ prefix), BPE."""
    ids = [v["<s>"]] if add_bos else []
    pos = 0
    while pos < len(text):
        nxt = [(text.find(s, pos), s) for s in SPECIAL if text.find(s, pos) >= 0]
        cut, tok = min(nxt) if nxt else (len(text), None)
        seg = text[pos:cut]
        if seg:
            ids += bpe_segment("▁" + seg.replace(" ", "▁"), v)
        if tok is None:
            break
        ids.append(v[tok])
        pos = cut + len(tok)
    return ids

# ---------------------------------------------------------------- weights


def make_weights(g):
    D, I, L = CFG["hidden_size"], CFG["intermediate_size"], CFG["num_hidden_layers"]
    H, KV, V = CFG["num_attention_heads"], CFG["num_key_value_heads"], CFG["vocab_size"]
    hd = D // H

    def lin(o, i):
        return torch.randn(o, i, generator=g) / math.sqrt(i)

    def norm():
        return 1.0 + 0.1 * torch.randn(D, generator=g)

    w = {"model.embed_tokens.weight": torch.randn(V, D, generator=g)}
    for l in range(L):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = norm()
        w[p + "self_attn.q_proj.weight"] = lin(H * hd, D)
        w[p + "self_attn.k_proj.weight"] = lin(KV * hd, D)
        w[p + "self_attn.v_proj.weight"] = lin(KV * hd, D)
        w[p + "self_attn.o_proj.weight"] = lin(D, H * hd)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = lin(I, D)
        w[p + "mlp.up_proj.weight"] = lin(I, D)
        w[p + "mlp.down_proj.weight"] = lin(D, I)
    w["model.norm.weight"] = norm()
    w["lm_head.weight"] = lin(V, D)
    # Stored as BF16; the reference computes in float32 from exactly the stored values.
    return {k: t.to(torch.bfloat16) for k, t in w.items()}


def tensor_bytes(t):
    if t.dtype == torch.bfloat16:
        return "BF16", t.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
    return "F32", t.contiguous().numpy().astype("<f4").tobytes()


def write_safetensors(path, tensors, metadata=None):
    """safetensors by hand: u64 LE header length, JSON header (space-padded to 8), then the tensors back to back."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        dtype, b = tensor_bytes(tensors[name])
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - (8 + len(js)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)
    return off

# ---------------------------------------------------------------- reference forward (transformers' math)


def inv_freq(scaling):
    hd = CFG["hidden_size"] // CFG["num_attention_heads"]
    base = CFG["rope_theta"]
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    if scaling is None:
        return inv
    factor, lo, hi = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, inv_l)


def rms_norm(x, w):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + CFG["rms_norm_eps"]))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(w, ids, scaling):
    """One prompt [T]; returns (logits [T, V], hooks {name: [T, width]})."""
    D, L = CFG["hidden_size"], CFG["num_hidden_layers"]
    H, KV = CFG["num_attention_heads"], CFG["num_key_value_heads"]
    hd = D // H
    T = len(ids)
    hooks = {}
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    hooks["hook_embed"] = x
    freqs = torch.outer(torch.arange(T).float(), inv_freq(scaling))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()  # [T, hd]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(L):
        p, b = "model.layers.%d." % l, "blocks.%d." % l
        hooks[b + "hook_resid_pre"] = x
        h = rms_norm(x, w[p + "input_layernorm.weight"])
        hooks[b + "ln1.hook_normalized"] = h
        q = h @ w[p + "self_attn.q_proj.weight"].T
        k = h @ w[p + "self_attn.k_proj.weight"].T
        v = h @ w[p + "self_attn.v_proj.weight"].T
        hooks[b + "attn.hook_q"], hooks[b + "attn.hook_k"], hooks[b + "attn.hook_v"] = q, k, v
        q = q.view(T, H, hd).transpose(0, 1)  # [H, T, hd]
        k = k.view(T, KV, hd).transpose(0, 1)
        v = v.view(T, KV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=0)  # repeat_kv: kv head g serves query heads g·rep … g·rep+rep−1
        v = v.repeat_interleave(H // KV, dim=0)
        att = (q @ k.transpose(1, 2)) / math.sqrt(hd) + mask
        att = torch.softmax(att, dim=-1, dtype=torch.float32)
        z = (att @ v).transpose(0, 1).reshape(T, H * hd)
        a = z @ w[p + "self_attn.o_proj.weight"].T
        hooks[b + "hook_attn_out"] = a
        x = x + a
        hooks[b + "hook_resid_mid"] = x
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"])
        hooks[b + "mlp.hook_in"] = h
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        hooks[b + "mlp.hook_pre"] = gate
        post = torch.nn.functional.silu(gate) * (h @ w[p + "mlp.up_proj.weight"].T)
        hooks[b + "mlp.hook_post"] = post
        m = post @ w[p + "mlp.down_proj.weight"].T
        hooks[b + "hook_mlp_out"] = m
        x = x + m
        hooks[b + "hook_resid_post"] = x
    h = rms_norm(x, w["model.norm.weight"])
    hooks["ln_final.hook_normalized"] = h
    return h @ w["lm_head.weight"].T, hooks


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "llama-tiny")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    wb = make_weights(g)

    # Three shards: embeddings + layer 0 | layers 1–2 | final norm + lm_head.
    def shard_of(name):
        if name.startswith("model.embed_tokens") or name.startswith("model.layers.0."):
            return 1
        return 2 if name.startswith("model.layers.") else 3
    weight_map, total = {}, 0
    for s in (1, 2, 3):
        fname = "model-%05d-of-00003.safetensors" % s
        part = {k: t for k, t in wb.items() if shard_of(k) == s}
        total += write_safetensors(os.path.join(out, fname), part, {"format": "pt"})
        weight_map.update({k: fname for k in part})
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CFG, f, indent=2)

    v = vocab()
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(v), f, ensure_ascii=False, indent=1)
    tok_cfg = dict(add_bos_token=True, add_eos_token=False, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                   clean_up_tokenization_spaces=False, model_max_length=128, tokenizer_class="LlamaTokenizer",
                   chat_template=CHAT_TEMPLATE)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tok_cfg, f, indent=2)

    texts = ["the cat is here", "how to win?", "Zebra é!", "in the wind, the tower is new."]
    chat_text = "<s>[user] how to win?</s>[assistant]"  # what CHAT_TEMPLATE renders for one user message
    tok_cases = [{"text": t, "ids": encode_ref(t, v, True)} for t in texts]

    wf = {k: t.float() for k, t in wb.items()}
    gp = torch.Generator().manual_seed(SEED + 1)
    prompts = [[1] + torch.randint(3, CFG["vocab_size"], (n - 1,), generator=gp).tolist() for n in PROMPT_LENS]
    ref = {}
    with torch.no_grad():
        for i, ids in enumerate(prompts):
            logits, hooks = forward(wf, ids, None)
            ref["default.p%d.logits" % i] = logits
            for name, t in hooks.items():
                ref["default.p%d.%s" % (i, name)] = t
            logits3, hooks3 = forward(wf, ids, LLAMA3_SCALING)
            ref["llama3.p%d.logits" % i] = logits3
            ref["llama3.p%d.blocks.2.attn.hook_q" % i] = hooks3["blocks.2.attn.hook_q"]
    write_safetensors(os.path.join(out, "reference.safetensors"), {k: t.contiguous() for k, t in ref.items()})
    hook_names = ["hook_embed"] + ["blocks.%d.%s" % (l, h) for l in range(CFG["num_hidden_layers"]) for h in LAYER_HOOKS]
    hook_names.append("ln_final.hook_normalized")
    with open(os.path.join(out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"prompts": prompts, "hooks": hook_names, "llama3_rope_scaling": LLAMA3_SCALING,
                   "tokenizer_cases": tok_cases,
                   "chat": {"user": "how to win?", "rendered": chat_text, "ids": encode_ref(chat_text, v, False)},
                   "torch": torch.__version__, "seed": SEED}, f, ensure_ascii=False, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
