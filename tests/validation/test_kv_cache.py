"""KV-cache bytes: a cache built in PyTorch equals sizeup's memory.kv_cache_bytes exactly.

For each configuration the cache is filled the way an inference engine fills it: K and V
come out of real projection modules (nn.Linear k_proj/v_proj; DeepSeek's kv_a_proj_with_mqa
and kv_a_layernorm for MLA) applied to hidden states, are reshaped to HF's
(batch, kv_heads, seq, head_dim) layout and appended per layer with torch.cat, as HF's
DynamicCache does (a prefill chunk, then token-by-token decode steps). Sliding-window layers
keep only the last `window` tokens (the rolling buffer of Mistral/vLLM; HF's
DynamicSlidingWindowLayer holds the same `window` tokens while attending). MLA keeps the
compressed latent plus the RoPE key per token (vLLM/SGLang), or, as HF eager does, the full
per-head K and V. T5's decoder holds self-attention K/V plus cross-attention K/V of the
encoder output. Tensor parallelism: one rank's shard of k_proj/v_proj.

Tiny hypothetical models allocate real tensors (CPU); catalog models run the same code on the
meta device (shapes and dtypes, no storage), so 7B-70B caches cost nothing. Bytes are
numel x element_size summed over every tensor the cache holds. Writes the kv_cache fragment.
"""
import json
import os
import sys
import unittest

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import refmodels  # noqa: E402

ROOT = os.environ.get("SIZEUP_ROOT", os.path.normpath(os.path.join(HERE, "..", "..")))
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def catalog_config(name):
    with open(os.path.join(ROOT, "data", "models", name + ".json")) as f:
        return json.load(f)["config"]


class Cache:
    """Per-layer K/V lists grown with torch.cat (HF DynamicCache); optional window per layer."""

    def __init__(self, layers, windows=None, dtype=torch.float32):
        self.k = [None] * layers
        self.v = [None] * layers
        self.windows = windows or [None] * layers
        self.dtype = dtype  # cache format (--kv-dtype); projections compute in fp32 on CPU

    def update(self, i, k, v):  # k, v: (b, heads, new, hd) or (b, new, width) for latents
        dim = -2
        k = k.to(self.dtype)
        v = None if v is None else v.to(self.dtype)
        self.k[i] = k if self.k[i] is None else torch.cat([self.k[i], k], dim=dim)
        if v is not None:
            self.v[i] = v if self.v[i] is None else torch.cat([self.v[i], v], dim=dim)
        w = self.windows[i]
        if w is not None and self.k[i].shape[dim] > w:  # rolling buffer: last w tokens
            self.k[i] = self.k[i].narrow(dim, self.k[i].shape[dim] - w, w)
            if self.v[i] is not None:
                self.v[i] = self.v[i].narrow(dim, self.v[i].shape[dim] - w, w)

    def nbytes(self):
        return sum(t.numel() * t.element_size() for t in self.k + self.v if t is not None)


def steps(seq):
    """Prefill chunk, then decode steps of one token (at most 3 decode steps)."""
    pre = max(1, seq - 3)
    return [pre] + [1] * (seq - pre)


def fill_standard(layers, hidden, kv_heads, head_dim, batch, seq, dtype, device, windows=None,
                  tp=1):
    """K/V from real k_proj/v_proj (one tensor-parallel rank's shard of the KV heads)."""
    local = max(1, kv_heads // tp)  # K < t: the rank holds one replicated head
    cache = Cache(layers, windows, dtype)
    projs = [(nn.Linear(hidden, local * head_dim, bias=False, device=device),
              nn.Linear(hidden, local * head_dim, bias=False, device=device))
             for _ in range(layers)]
    for n in steps(seq):
        x = torch.randn(batch, n, hidden, device=device)
        for i, (kp, vp) in enumerate(projs):
            k = kp(x).view(batch, n, local, head_dim).transpose(1, 2)
            v = vp(x).view(batch, n, local, head_dim).transpose(1, 2)
            cache.update(i, k, v)
    return cache.nbytes()


def fill_mla(cfg, batch, seq, dtype, device, full=False):
    """DeepSeek MLA: latent c_kv (after kv_a_layernorm) and k_pe per token; full=HF eager."""
    d, r, rope = cfg["hidden_size"], cfg["kv_lora_rank"], cfg["qk_rope_head_dim"]
    nope, vd, h = cfg["qk_nope_head_dim"], cfg["v_head_dim"], cfg["num_attention_heads"]
    layers = cfg["num_hidden_layers"]
    kv_a = nn.Linear(d, r + rope, bias=False, device=device)
    norm = nn.LayerNorm(r, elementwise_affine=False, device=device)
    kv_b = nn.Linear(r, h * (nope + vd), bias=False, device=device)
    cache = Cache(layers, dtype=dtype)
    for n in steps(seq):
        x = torch.randn(batch, n, d, device=device)
        for i in range(layers):  # one module reused: only shapes matter for the cache
            c_kv, k_pe = kv_a(x).split([r, rope], dim=-1)
            c_kv = norm(c_kv)
            if not full:
                cache.update(i, torch.cat([c_kv, k_pe], dim=-1), None)
                continue
            kv = kv_b(c_kv).view(batch, n, h, nope + vd).transpose(1, 2)
            k_nope, v = kv.split([nope, vd], dim=-1)
            k_pe = k_pe.view(batch, 1, n, rope).expand(batch, h, n, rope)
            cache.update(i, torch.cat([k_nope, k_pe], dim=-1), v)
    return cache.nbytes()


def fill_t5(cfg, batch, seq, enc_seq, dtype, device):
    """T5 decoder: self-attention K/V per generated token + cross K/V of the encoder output."""
    d, h, hd, layers = cfg["d_model"], cfg["num_heads"], cfg["d_kv"], cfg["num_decoder_layers"]
    self_bytes = fill_standard(layers, d, h, hd, batch, seq, dtype, device)
    enc = torch.randn(batch, enc_seq, d, device=device)
    cross = Cache(layers, dtype=dtype)
    for i in range(layers):
        kp = nn.Linear(d, h * hd, bias=False, device=device)
        vp = nn.Linear(d, h * hd, bias=False, device=device)
        cross.update(i, kp(enc).view(batch, enc_seq, h, hd).transpose(1, 2),
                     vp(enc).view(batch, enc_seq, h, hd).transpose(1, 2))
    return self_bytes + cross.nbytes()


def tiny(label, cfg, batch, seq, kv, window=None):
    c = refmodels.make_cfg(**cfg)
    flags = refmodels.sizeup_model_flags(c) + (["--sliding-window", window] if window else [])
    windows = [window] * c["layers"] if window else None

    def measure():
        return fill_standard(c["layers"], c["hidden"], c["kv_heads"], c["head_dim"], batch, seq,
                             DTYPES[kv], "cpu", windows)
    return label, measure, [*flags, "--batch", batch, "--context", seq, "--kv-dtype", kv]


def layer_windows(c):
    """The attention window of each layer as transformers derives it from a config (v4.56):
    an explicit `layer_types` list wins; otherwise Gemma2Config sets sliding on layers with
    bool((i + 1) % 2), Gemma3TextConfig on layers where (i + 1) % sliding_window_pattern != 0,
    Qwen2Config only with use_sliding_window (from max_window_layers on), and Mistral's
    sliding_window applies to every layer. None: a full-attention layer."""
    layers, window = c["num_hidden_layers"], c.get("sliding_window")
    if c["model_type"] == "llama4_text":  # Llama4TextConfig: RoPE layers attend in chunks
        chunk = c.get("attention_chunk_size", 8192)
        nope = c.get("no_rope_layers") or [int((i + 1) % 4 != 0) for i in range(layers)]
        return [chunk if nope[i] else None for i in range(layers)]
    if not window:
        return None
    if "layer_types" in c:
        return [window if t == "sliding_attention" else None for t in c["layer_types"]]
    kind = c["model_type"]
    if kind == "gemma2":
        return [window if (i + 1) % 2 else None for i in range(layers)]
    if kind in ("gemma3", "gemma3_text"):
        pattern = c.get("sliding_window_pattern", 6)
        return [window if (i + 1) % pattern else None for i in range(layers)]
    if kind in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe"):
        if not c.get("use_sliding_window", False):
            return None
        first = c.get("max_window_layers", layers)
        return [window if i >= first else None for i in range(layers)]
    if kind == "cohere2":  # Cohere2Config: layer i slides when (i + 1) % pattern != 0
        pattern = c.get("sliding_window_pattern", 4)
        return [window if (i + 1) % pattern else None for i in range(layers)]
    if kind in ("mistral", "mixtral", "starcoder2"):
        return [window] * layers
    raise ValueError(f"no sliding-window rule for model_type {kind}")


def catalog_std(label, name, batch, seq, kv, tp=1):
    c = catalog_config(name)
    c = c.get("text_config", c)  # a multimodal config's language model
    layers, hidden = c["num_hidden_layers"], c["hidden_size"]
    heads = c["num_attention_heads"]
    kv_heads = c.get("num_key_value_heads", heads)
    hd = c.get("head_dim") or hidden // heads
    windows = layer_windows(c)

    def measure():
        return fill_standard(layers, hidden, kv_heads, hd, batch, seq, DTYPES[kv], "meta",
                             windows, tp)
    return label, measure, [name, "--batch", batch, "--context", seq, "--kv-dtype", kv,
                            "--tp", tp]


def catalog_mla(label, name, batch, seq, kv, full=False):
    c = catalog_config(name)
    return (label, lambda: fill_mla(c, batch, seq, DTYPES[kv], "meta", full),
            [name, "--batch", batch, "--context", seq, "--kv-dtype", kv, "--mla-cache",
             "full" if full else "latent"])


def catalog_t5(label, name, batch, seq, enc_seq, kv):
    c = catalog_config(name)
    return (label, lambda: fill_t5(c, batch, seq, enc_seq, DTYPES[kv], "meta"),
            [name, "--batch", batch, "--context", seq, "--encoder-seq", enc_seq,
             "--kv-dtype", kv])


CASES = [
    tiny("tiny MHA (4 heads of 16), fp32", dict(), 2, 37, "fp32"),
    tiny("tiny GQA 8/2, bf16", dict(layers=3, hidden=96, heads=8, kv_heads=2, ffn=256,
                                    vocab=1000, positions="rope", norm="rmsnorm",
                                    mlp="swiglu", bias=False), 3, 50, "bf16"),
    tiny("tiny MQA, head_dim 32, fp16", dict(heads=4, kv_heads=1, head_dim=32), 1, 20, "fp16"),
    tiny("tiny sliding window 16 < context 100, fp16", dict(), 2, 100, "fp16", window=16),
    tiny("tiny sliding window 64 > context 40, bf16", dict(kv_heads=2), 1, 40, "bf16",
         window=64),
    catalog_std("llama-2-7b (MHA), fp16", "llama-2-7b", 1, 4096, "fp16"),
    catalog_std("llama-3-8b (GQA 32/8), bf16, batch 8", "llama-3-8b", 8, 8192, "bf16"),
    catalog_std("llama-2-70b (GQA), tp 8, one rank", "llama-2-70b", 4, 4096, "bf16", tp=8),
    catalog_std("llama-2-70b, tp 16 > 8 KV heads (replicated)", "llama-2-70b", 1, 2048, "bf16",
                tp=16),
    catalog_std("mistral-7b-v0.1 (sliding 4096 on all layers), 32k", "mistral-7b-v0.1", 1,
                32768, "bf16"),
    catalog_std("gemma-2-9b (alternating sliding 4096 / global), 8k", "gemma-2-9b", 2, 8192,
                "bf16"),
    catalog_std("gpt-oss-20b (layer_types: sliding 128 / full), 16k", "gpt-oss-20b", 2, 16384,
                "bf16"),
    catalog_std("command-r7b (3 sliding 4096 per global), 32k", "command-r7b", 1, 32768,
                "bf16"),
    catalog_std("llama-4-scout (chunked 8192 on RoPE layers, NoPE global), 32k",
                "llama-4-scout-17b-16e", 1, 32768, "bf16"),
    catalog_mla("deepseek-v2-lite MLA latent (512+64), bf16", "deepseek-v2-lite", 2, 4096,
                "bf16"),
    catalog_mla("deepseek-v3 MLA latent, fp32", "deepseek-v3", 1, 1000, "fp32"),
    catalog_mla("deepseek-v2-lite MLA full K/V (HF eager), bf16", "deepseek-v2-lite", 1, 512,
                "bf16", full=True),
    catalog_t5("t5-small decoder self + cross (encoder 512), fp32", "t5-small", 2, 100, 512,
               "fp32"),
]


class KvCacheTest(unittest.TestCase):
    def test_kv_cache_bytes_exact(self):
        rows = []
        for label, measure, args in CASES:
            with torch.no_grad():
                measured = measure()
            got = refmodels.run_sizeup("infer", *args)["memory"]["kv_cache_bytes"]
            rows.append((label, measured, got))
            with self.subTest(label):
                self.assertEqual(got, measured, label)
        md = ["## KV cache\n",
              "A cache built in PyTorch (K/V from real projection modules, appended per layer "
              "with torch.cat as HF DynamicCache does; sliding layers keep the last window; "
              "MLA keeps the latent; catalog models on the meta device) against "
              "`sizeup infer ... --json` `memory.kv_cache_bytes`. Script: "
              "tests/validation/test_kv_cache.py.\n",
              "| configuration | PyTorch bytes | sizeup bytes | agreement |",
              "| --- | ---: | ---: | --- |"]
        for label, measured, got in rows:
            md.append(f"| {label} | {measured:,} | {int(got):,} | "
                      f"{'exact' if got == measured else 'DIFFERS'} |")
        refmodels.write_fragment("kv_cache", "\n".join(md) + "\n")
        self.assertGreaterEqual(len(rows), 10)


if __name__ == "__main__":
    unittest.main()
