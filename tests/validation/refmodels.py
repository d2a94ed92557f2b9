"""Reference transformer implementations in PyTorch, written for validation.

They follow the HF transformers modules that sizeup models (GPT-2-style block with
LayerNorm, GELU MLP and biases; Llama-style block with RMSNorm, RoPE, GQA, SwiGLU;
Mixtral-style sparse MoE block) so that parameter counts, saved activations, optimizer
state and matmul FLOPs measured here can be compared with sizeup's formulas.

Also: measurement helpers (saved-for-backward bytes, matmul FLOPs via TorchDispatchMode,
running the sizeup binary). Runs under Debian's python3-torch 1.13 (CPU).
"""
import json
import math
import os
import subprocess

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint
from torch.utils._python_dispatch import TorchDispatchMode


# ---------------------------------------------------------------------------------------
# Configuration (field names as sizeup's flags; defaults give a GPT-2-style model)
# ---------------------------------------------------------------------------------------
def make_cfg(**kw):
    cfg = dict(layers=2, hidden=64, heads=4, kv_heads=None, head_dim=None, ffn=None,
               vocab=97, max_positions=128, positions="learned", norm="layernorm",
               mlp="gelu", bias=True, tied=True, final_norm=True, dropout=0.0,
               experts=0, experts_per_token=2, expert_ffn=None)
    cfg.update(kw)
    cfg["kv_heads"] = cfg["kv_heads"] or cfg["heads"]
    cfg["head_dim"] = cfg["head_dim"] or cfg["hidden"] // cfg["heads"]
    cfg["ffn"] = cfg["ffn"] or 4 * cfg["hidden"]
    cfg["expert_ffn"] = cfg["expert_ffn"] or cfg["ffn"]
    return cfg


def sizeup_model_flags(cfg):
    """The sizeup command-line flags describing the same model."""
    f = ["--layers", cfg["layers"], "--hidden", cfg["hidden"], "--heads", cfg["heads"],
         "--kv-heads", cfg["kv_heads"], "--head-dim", cfg["head_dim"], "--ffn", cfg["ffn"],
         "--vocab", cfg["vocab"], "--max-positions", cfg["max_positions"],
         "--positions", cfg["positions"], "--norm", cfg["norm"],
         "--mlp", "swiglu" if cfg["mlp"] == "swiglu" else "gelu",
         "--bias" if cfg["bias"] else "--no-bias", "--tied" if cfg["tied"] else "--untied",
         "--final-norm" if cfg["final_norm"] else "--no-final-norm"]
    if cfg["experts"]:
        f += ["--experts", cfg["experts"], "--experts-per-token", cfg["experts_per_token"],
              "--expert-ffn", cfg["expert_ffn"]]
    return [str(x) for x in f]


# ---------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------
class RMSNorm(nn.Module):
    """Llama RMSNorm: weight only (HF LlamaRMSNorm)."""

    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.to(torch.float32)  # HF LlamaRMSNorm normalises in fp32
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps)).to(dtype)


def make_norm(cfg):
    return nn.LayerNorm(cfg["hidden"]) if cfg["norm"] == "layernorm" else RMSNorm(cfg["hidden"])


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(q, k, seq, head_dim):
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    t = torch.arange(seq, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(q.dtype), emb.sin().to(q.dtype)
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


class Attention(nn.Module):
    """Eager causal self-attention with GQA (HF LlamaAttention / GPT2Attention)."""

    def __init__(self, cfg):
        super().__init__()
        d, h, kv, hd = cfg["hidden"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
        self.h, self.kv, self.hd, self.cfg = h, kv, hd, cfg
        self.q_proj = nn.Linear(d, h * hd, bias=cfg["bias"])
        self.k_proj = nn.Linear(d, kv * hd, bias=cfg["bias"])
        self.v_proj = nn.Linear(d, kv * hd, bias=cfg["bias"])
        self.o_proj = nn.Linear(h * hd, d, bias=cfg["bias"])
        self.attn_dropout = nn.Dropout(cfg["dropout"])

    def forward(self, x):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
        if self.cfg["positions"] == "rope":
            q, k = apply_rope(q, k, s, self.hd)
        if self.kv != self.h:  # HF repeat_kv
            rep = self.h // self.kv
            k = k[:, :, None].expand(b, self.kv, rep, s, self.hd).reshape(b, self.h, s, self.hd)
            v = v[:, :, None].expand(b, self.kv, rep, s, self.hd).reshape(b, self.h, s, self.hd)
        if self.cfg.get("recompute_core"):  # selective recompute (Korthikanti et al. Sec. 5)
            out = torch.utils.checkpoint.checkpoint(self.core, q, k, v)
        else:
            out = self.core(q, k, v)
        return self.o_proj(out.transpose(1, 2).reshape(b, s, self.h * self.hd))

    def core(self, q, k, v):
        """Core attention: softmax(q k^T / sqrt(d) + causal mask), dropout, times v."""
        s = q.shape[2]
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        mask = torch.full((s, s), float("-inf"), device=q.device, dtype=scores.dtype).triu(1)
        probs = F.softmax(scores + mask, dim=-1)
        probs = self.attn_dropout(probs)
        return torch.matmul(probs, v)


class MLP(nn.Module):
    """GELU MLP (GPT-2) or SwiGLU (Llama)."""

    def __init__(self, cfg, ffn=None, bias=None):
        super().__init__()
        d, f = cfg["hidden"], ffn or cfg["ffn"]
        bias = cfg["bias"] if bias is None else bias
        self.gated = cfg["mlp"] == "swiglu"
        if self.gated:
            self.gate_proj = nn.Linear(d, f, bias=bias)
        self.up_proj = nn.Linear(d, f, bias=bias)
        self.down_proj = nn.Linear(f, d, bias=bias)

    def forward(self, x):
        if self.gated:
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
        return self.down_proj(F.gelu(self.up_proj(x)))


class SparseMoE(nn.Module):
    """Mixtral-style top-k MoE (HF MixtralSparseMoeBlock): softmax router, top-k,
    renormalised weights, experts applied to their routed tokens only."""

    def __init__(self, cfg):
        super().__init__()
        self.k = cfg["experts_per_token"]
        self.gate = nn.Linear(cfg["hidden"], cfg["experts"], bias=False)
        self.experts = nn.ModuleList(MLP(cfg, cfg["expert_ffn"], bias=False)
                                     for _ in range(cfg["experts"]))

    def forward(self, x):
        b, s, d = x.shape
        flat = x.view(-1, d)
        weights = F.softmax(self.gate(flat), dim=-1)
        topw, topi = torch.topk(weights, self.k, dim=-1)
        topw = topw / topw.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            rows, slot = torch.where(topi == e)
            if rows.numel() == 0:
                continue
            y = expert(flat[rows]) * topw[rows, slot, None]
            out = out.index_add(0, rows, y)
        return out.view(b, s, d)


class Block(nn.Module):
    """Pre-norm residual block; dropout on both residual branches (GPT-2 resid_pdrop)."""

    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = make_norm(cfg)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = make_norm(cfg)
        self.mlp = SparseMoE(cfg) if cfg["experts"] else MLP(cfg)
        self.dropout = nn.Dropout(cfg["dropout"])

    def forward(self, x):
        x = x + self.dropout(self.self_attn(self.input_layernorm(x)))
        return x + self.dropout(self.mlp(self.post_attention_layernorm(x)))


class CausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg["vocab"], cfg["hidden"])
        if cfg["positions"] == "learned":
            self.embed_positions = nn.Embedding(cfg["max_positions"], cfg["hidden"])
        self.drop = nn.Dropout(cfg["dropout"])
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg["layers"]))
        self.norm = make_norm(cfg) if cfg["final_norm"] else nn.Identity()
        self.lm_head = nn.Linear(cfg["hidden"], cfg["vocab"], bias=False)
        if cfg["tied"]:
            self.lm_head.weight = self.embed_tokens.weight

    def forward(self, ids):
        x = self.embed_tokens(ids)
        if self.cfg["positions"] == "learned":
            x = x + self.embed_positions(torch.arange(ids.shape[1], device=ids.device))
        x = self.drop(x)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


def count_parameters(module):
    """HF num_parameters(): unique parameters (a tied head counted once)."""
    seen, total = set(), 0
    for p in module.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


# ---------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------
def saved_bytes(module, inputs, dtype=None):
    """Bytes of tensors autograd saves for backward while running module(*inputs):
    parameters excluded, tensors sharing a storage counted once (by storage pointer).
    Every packed tensor is also held here until the end, so a storage freed during the
    forward cannot have its address reused by a later tensor and be skipped as a duplicate."""
    params = {p.data_ptr() for p in module.parameters()}
    storages = {}
    held = []

    def pack(t):
        st = t.storage() if hasattr(t, "storage") else t.untyped_storage()
        ptr = st.data_ptr()
        held.append(t)
        if ptr not in params and ptr not in storages:
            storages[ptr] = st.nbytes() if hasattr(st, "nbytes") else st.size() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = module(*inputs)
    return sum(storages.values()), out


MATMUL_OPS = None


def _matmul_ops():
    global MATMUL_OPS
    if MATMUL_OPS is None:
        a = torch.ops.aten
        MATMUL_OPS = {a.mm.default, a.addmm.default, a.bmm.default, a.baddbmm.default}
    return MATMUL_OPS


class MatmulFlopCounter(TorchDispatchMode):
    """Counts 2*m*n*k for every aten mm/addmm/bmm/baddbmm dispatched (bias adds not counted)."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        ops = torch.ops.aten
        if func in _matmul_ops():
            if func in (ops.mm.default, ops.bmm.default):
                a, b = args[0], args[1]
            else:
                a, b = args[1], args[2]
            batch = a.shape[0] if a.dim() == 3 else 1
            m, k = a.shape[-2], a.shape[-1]
            n = b.shape[-1]
            self.flops += 2 * batch * m * n * k
        return out


def run_sizeup(*args):
    """Runs the sizeup binary with --json; returns the parsed object."""
    exe = os.environ.get("SIZEUP_BIN", "sizeup")
    res = subprocess.run([exe, *map(str, args), "--json"], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"sizeup {' '.join(map(str, args))} failed: {res.stderr.strip()}")
    return json.loads(res.stdout)


def write_fragment(name, markdown):
    """Writes this script's Markdown fragment for docs/validation.md, if asked to."""
    out_dir = os.environ.get("SIZEUP_VALIDATION_DIR")
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, name + ".md"), "w") as f:
            f.write(markdown)
