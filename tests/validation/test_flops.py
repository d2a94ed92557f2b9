"""Validation: sizeup's detailed FLOPs count against matmul FLOPs measured in PyTorch.

For random small GPT-2-style, Llama-style (GQA, SwiGLU, RoPE) and Mixtral-style (top-k MoE)
reference models (refmodels.py), every aten mm/addmm/bmm/baddbmm dispatched during the
forward pass, and separately during the backward pass, is counted as 2*m*n*k FLOPs
(MatmulFlopCounter). sizeup counts the same products from its tensor table plus QK^T and
softmax*V, so with causal halving off (the reference attention is eager: full T x T scores,
masked afterwards) the forward counts must agree exactly, and the backward must be exactly
twice the forward (the gradient with respect to each product's two operands is one product
of the same size each; the input gradient of the first layer is also computed because the
embedding table is trained, so no term is missing).
"""
import json
import os
import random
import sys
import tempfile
import unittest

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __import__("os").path.dirname(__file__))
import refmodels as rm  # noqa: E402


def configs():
    """At least 10 random configurations across the three families (fixed seed)."""
    rng = random.Random(20261201)
    out = []
    for i in range(4):  # GPT-2 style: LayerNorm, GELU, learned positions, biases
        heads = rng.choice([2, 4, 8])
        hd = rng.choice([4, 8, 16])
        out.append(("gpt2", rm.make_cfg(
            layers=rng.randint(1, 3), hidden=heads * hd, heads=heads,
            ffn=rng.choice([None, 3 * heads * hd, 40]), vocab=rng.randint(50, 300),
            max_positions=64, tied=rng.random() < 0.5, final_norm=rng.random() < 0.7)))
    for i in range(4):  # Llama style: RMSNorm, RoPE, SwiGLU, GQA, no biases, untied
        kv = rng.choice([1, 2, 4])
        heads = kv * rng.choice([1, 2, 4])
        hd = rng.choice([4, 8, 16])
        hidden = rng.choice([32, 48, 64])
        out.append(("llama", rm.make_cfg(
            layers=rng.randint(1, 3), hidden=hidden, heads=heads, kv_heads=kv, head_dim=hd,
            ffn=rng.choice([64, 96, 136]), vocab=rng.randint(50, 300), max_positions=64,
            positions="rope", norm="rmsnorm", mlp="swiglu", bias=False, tied=False)))
    for i in range(3):  # Mixtral style: top-k of E SwiGLU experts
        experts = rng.choice([4, 6, 8])
        out.append(("mixtral", rm.make_cfg(
            layers=rng.randint(1, 2), hidden=32, heads=4, kv_heads=rng.choice([1, 2, 4]),
            head_dim=8, ffn=48, expert_ffn=rng.choice([24, 40]), vocab=rng.randint(50, 200),
            max_positions=64, positions="rope", norm="rmsnorm", mlp="swiglu", bias=False,
            tied=False, experts=experts, experts_per_token=rng.choice([1, 2, 3]))))
    return out, rng


# ---------------------------------------------------------------------------------------
# DeepSeek-V2-style model (MLA + MoE with shared experts and a dense first layer), written
# here after HF DeepseekV2Attention / DeepseekV2MoE for its matmuls only: RoPE on the
# qk_rope part is elementwise and is left out; routing is plain top-k of a softmax.
# ---------------------------------------------------------------------------------------
class MlaAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, H = c["hidden"], c["heads"]
        self.c = c
        qk = c["nope"] + c["rope"]
        if c["q_lora_rank"]:
            self.q_a_proj = nn.Linear(d, c["q_lora_rank"], bias=False)
            self.q_a_layernorm = rm.RMSNorm(c["q_lora_rank"])
            self.q_b_proj = nn.Linear(c["q_lora_rank"], H * qk, bias=False)
        else:
            self.q_proj = nn.Linear(d, H * qk, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(d, c["kv_lora_rank"] + c["rope"], bias=False)
        self.kv_a_layernorm = rm.RMSNorm(c["kv_lora_rank"])
        self.kv_b_proj = nn.Linear(c["kv_lora_rank"], H * (c["nope"] + c["v"]), bias=False)
        self.o_proj = nn.Linear(H * c["v"], d, bias=False)

    def forward(self, x):
        c, (b, s, _) = self.c, x.shape
        H, nope, rope, v = c["heads"], c["nope"], c["rope"], c["v"]
        q = (self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))) if c["q_lora_rank"]
             else self.q_proj(x)).view(b, s, H, nope + rope).transpose(1, 2)
        ckv, k_pe = self.kv_a_proj_with_mqa(x).split([c["kv_lora_rank"], rope], dim=-1)
        kv = self.kv_b_proj(self.kv_a_layernorm(ckv)).view(b, s, H, nope + v).transpose(1, 2)
        k_nope, val = kv.split([nope, v], dim=-1)
        k_pe = k_pe.view(b, 1, s, rope).expand(b, H, s, rope)
        k = torch.cat([k_nope, k_pe], dim=-1)
        scores = torch.matmul(q, k.transpose(2, 3)) / (nope + rope) ** 0.5
        mask = torch.full((s, s), float("-inf")).triu(1)
        out = torch.matmul(F.softmax(scores + mask, dim=-1), val)
        return self.o_proj(out.transpose(1, 2).reshape(b, s, H * v))


class DeepseekMoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        mlp_cfg = rm.make_cfg(hidden=c["hidden"], mlp="swiglu", bias=False)
        self.k = c["k"]
        self.gate = nn.Linear(c["hidden"], c["experts"], bias=False)
        self.experts = nn.ModuleList(rm.MLP(mlp_cfg, c["expert_ffn"], bias=False)
                                     for _ in range(c["experts"]))
        self.shared = (rm.MLP(mlp_cfg, c["shared"] * c["expert_ffn"], bias=False)
                       if c["shared"] else None)

    def forward(self, x):
        b, s, d = x.shape
        flat = x.reshape(-1, d)
        topw, topi = torch.topk(F.softmax(self.gate(flat), dim=-1), self.k, dim=-1)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            rows, slot = torch.where(topi == e)
            if rows.numel():
                out = out.index_add(0, rows, expert(flat[rows]) * topw[rows, slot, None])
        if self.shared is not None:
            out = out + self.shared(flat)
        return out.view(b, s, d)


class DeepseekLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        mlp_cfg = rm.make_cfg(hidden=c["hidden"], mlp="swiglu", bias=False)
        self.embed_tokens = nn.Embedding(c["vocab"], c["hidden"])
        self.attn = nn.ModuleList(MlaAttention(c) for _ in range(c["layers"]))
        self.norms = nn.ModuleList(rm.RMSNorm(c["hidden"]) for _ in range(2 * c["layers"]))
        self.mlps = nn.ModuleList(
            rm.MLP(mlp_cfg, c["ffn"], bias=False) if i < c["first_dense"] else DeepseekMoE(c)
            for i in range(c["layers"]))
        self.norm = rm.RMSNorm(c["hidden"])
        self.lm_head = nn.Linear(c["hidden"], c["vocab"], bias=False)

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for i, (attn, mlp) in enumerate(zip(self.attn, self.mlps)):
            x = x + attn(self.norms[2 * i](x))
            x = x + mlp(self.norms[2 * i + 1](x))
        return self.lm_head(self.norm(x))


def deepseek_config_json(c):
    """The HF config.json sizeup reads for the same model (deepseek_v2 reader)."""
    j = {"model_type": "deepseek_v2", "architectures": ["DeepseekV2ForCausalLM"],
         "hidden_size": c["hidden"], "num_hidden_layers": c["layers"],
         "num_attention_heads": c["heads"], "num_key_value_heads": c["heads"],
         "intermediate_size": c["ffn"], "vocab_size": c["vocab"],
         "max_position_embeddings": 64, "kv_lora_rank": c["kv_lora_rank"],
         "qk_nope_head_dim": c["nope"], "qk_rope_head_dim": c["rope"], "v_head_dim": c["v"],
         "n_routed_experts": c["experts"], "num_experts_per_tok": c["k"],
         "moe_intermediate_size": c["expert_ffn"], "n_shared_experts": c["shared"],
         "first_k_dense_replace": c["first_dense"], "moe_layer_freq": 1,
         "tie_word_embeddings": False}
    # null, not absent: DeepseekV2Config's class default is q_lora_rank 1536 (a low-rank query).
    j["q_lora_rank"] = c["q_lora_rank"] or None
    return j


def measure(cfg, batch, seq, seed):
    """Matmul FLOPs of one forward pass and of its backward pass."""
    torch.manual_seed(seed)
    model = rm.CausalLM(cfg)
    ids = torch.randint(0, cfg["vocab"], (batch, seq))
    fwd = rm.MatmulFlopCounter()
    with fwd:
        logits = model(ids)
        loss = logits.float().pow(2).mean()  # elementwise: no matmul
    bwd = rm.MatmulFlopCounter()
    with bwd:
        loss.backward()
    return fwd.flops, bwd.flops


class FlopsValidation(unittest.TestCase):
    fragment = {}  # section name -> Markdown, written once all tests ran

    @classmethod
    def tearDownClass(cls):
        order = ("dense", "mla", "frozen")
        parts = [cls.fragment[k] for k in order if k in cls.fragment]
        if parts:
            rm.write_fragment("flops", "\n".join(parts) + "\n")

    def test_detailed_count_equals_measured_matmuls(self):
        cases, rng = configs()
        self.assertGreaterEqual(len(cases), 10)
        lines = ["## FLOPs: sizeup's detailed count vs. measured matmuls\n",
                 "Every aten `mm`/`addmm`/`bmm`/`baddbmm` dispatched by the PyTorch reference "
                 "models (`tests/validation/refmodels.py`, eager attention) counted as 2·m·n·k; "
                 "`sizeup flops --seq T --batch B` (causal halving off) compared with the "
                 "forward count, and the backward count compared with 2x the forward.\n",
                 "| family | layers | d | heads (kv) | head dim | ffn | experts (k) | vocab | tied "
                 "| B x T | forward measured | sizeup forward/step | backward measured | "
                 "backward / forward |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for i, (family, cfg) in enumerate(cases):
            batch, seq = rng.randint(1, 3), rng.randint(3, 24)
            with self.subTest(case=i, family=family):
                fwd, bwd = measure(cfg, batch, seq, seed=i)
                j = rm.run_sizeup("flops", *rm.sizeup_model_flags(cfg), "--seq", seq,
                                  "--batch", batch)
                f = j["flops"]
                # Forward: exact (all counts are integers far below 2^53).
                self.assertEqual(f["forward_per_step"], fwd)
                self.assertEqual(f["forward_per_token"] * batch * seq, fwd)
                # Backward: exactly twice the forward, so model FLOPs = 3 x forward.
                self.assertEqual(bwd, 2 * fwd)
                self.assertEqual(f["training_per_step"], fwd + bwd)
                lines.append(
                    f"| {family} | {cfg['layers']} | {cfg['hidden']} | {cfg['heads']} "
                    f"({cfg['kv_heads']}) | {cfg['head_dim']} | "
                    f"{cfg['expert_ffn'] if cfg['experts'] else cfg['ffn']} | "
                    f"{cfg['experts']} ({cfg['experts_per_token'] if cfg['experts'] else '-'}) | "
                    f"{cfg['vocab']} | {'yes' if cfg['tied'] else 'no'} | {batch} x {seq} | "
                    f"{fwd:,} | {f['forward_per_step']:,.0f} | {bwd:,} | {bwd / fwd:g} |")
        lines.append(
            f"\nAll {len(cases)} configurations: forward equal exactly; backward = 2 x forward "
            "exactly (the first layer's input gradient is computed because the embedding "
            "table is trained; the embedding lookup itself has no matmul in either pass). "
            "When nothing below layer 0's q/k/v is trained (embeddings and first norm frozen, "
            "untied head), the measured backward is 2 x forward - 2*B*T*d*(H*Q + 2*K*Q) "
            "exactly: autograd skips those input gradients. "
            "MoE: the reference routes each token to its top-k experts, so the active-expert "
            "count is exact. Not measured: causal halving (eager attention computes the "
            "full T x T scores), sliding windows, encoder-decoder models; MLA below.\n")
        self.fragment["dense"] = "\n".join(lines) + "\n"

    def test_mla_moe_shared_experts(self):
        # DeepSeek-V2-style: MLA (with and without query compression), a dense first layer,
        # routed top-k experts plus shared experts. sizeup reads the equivalent config.json.
        rng = random.Random(7)
        rows = []
        for i in range(3):
            c = dict(layers=rng.randint(2, 3), hidden=32, heads=rng.choice([2, 4]),
                     q_lora_rank=rng.choice([0, 24]), kv_lora_rank=rng.choice([16, 20]),
                     nope=rng.choice([8, 12]), rope=rng.choice([4, 8]), v=rng.choice([8, 16]),
                     ffn=rng.choice([48, 64]), vocab=rng.randint(50, 150),
                     experts=rng.choice([4, 6]), k=rng.choice([1, 2]),
                     expert_ffn=rng.choice([12, 16]), shared=rng.choice([0, 1, 2]),
                     first_dense=1)
            batch, seq = rng.randint(1, 2), rng.randint(4, 12)
            torch.manual_seed(i)
            model = DeepseekLM(c)
            ids = torch.randint(0, c["vocab"], (batch, seq))
            fwd, bwd = rm.MatmulFlopCounter(), rm.MatmulFlopCounter()
            with fwd:
                loss = model(ids).pow(2).mean()
            with bwd:
                loss.backward()
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "config.json")
                with open(path, "w") as f:
                    json.dump(deepseek_config_json(c), f)
                j = rm.run_sizeup("flops", path, "--seq", seq, "--batch", batch)
            with self.subTest(case=i, cfg=c):
                self.assertEqual(j["flops"]["forward_per_step"], fwd.flops)
                self.assertEqual(bwd.flops, 2 * fwd.flops)
            rows.append(f"| {c['layers']} | {c['heads']} | {c['q_lora_rank'] or '-'} | "
                        f"{c['kv_lora_rank']} | {c['nope']}+{c['rope']} / {c['v']} | "
                        f"{c['experts']} ({c['k']}) + {c['shared']} shared | {batch} x {seq} | "
                        f"{fwd.flops:,} | {j['flops']['forward_per_step']:,.0f} | "
                        f"{bwd.flops / fwd.flops:g} |")
        self.fragment["mla"] = "\n".join(
            ["DeepSeek-V2-style models (MLA, dense first layer, routed + shared experts; "
             "reference in `tests/validation/test_flops.py`, sizeup reading the equivalent "
             "`config.json`):\n",
             "| layers | heads | q_lora_rank | kv_lora_rank | qk (nope+rope) / v | experts (k) "
             "| B x T | forward measured | sizeup forward/step | backward / forward |",
             "|---|---|---|---|---|---|---|---|---|---|", *rows]) + "\n"

    def test_backward_without_first_input_gradient(self):
        # The one term that can be missing from "backward = 2 x forward": if nothing below
        # layer 0's q/k/v projections is trained (embeddings and the first norm frozen, head
        # untied), autograd skips their input gradients, 2*B*T*d*(H*Q + 2*K*Q) FLOPs.
        for cfg in (rm.make_cfg(layers=2, hidden=32, heads=4, vocab=60, tied=False),
                    rm.make_cfg(layers=2, hidden=32, heads=4, kv_heads=2, vocab=60, tied=False,
                                positions="rope", norm="rmsnorm", mlp="swiglu", bias=False)):
            torch.manual_seed(0)
            model = rm.CausalLM(cfg)
            frozen = [model.embed_tokens.weight, *model.layers[0].input_layernorm.parameters()]
            if cfg["positions"] == "learned":
                frozen.append(model.embed_positions.weight)
            for p in frozen:
                p.requires_grad_(False)
            batch, seq = 2, 7
            ids = torch.randint(0, cfg["vocab"], (batch, seq))
            fwd, bwd = rm.MatmulFlopCounter(), rm.MatmulFlopCounter()
            with fwd:
                loss = model(ids).pow(2).mean()
            with bwd:
                loss.backward()
            d, q = cfg["hidden"], cfg["heads"] * cfg["head_dim"]
            kv = cfg["kv_heads"] * cfg["head_dim"]
            self.assertEqual(bwd.flops, 2 * fwd.flops - 2 * batch * seq * d * (q + 2 * kv))
            j = rm.run_sizeup("flops", *rm.sizeup_model_flags(cfg), "--seq", seq, "--batch",
                              batch)
            self.assertEqual(j["flops"]["forward_per_step"], fwd.flops)

    def test_causal_halving_is_below_eager_count(self):
        # Eager attention computes every score; the halved count is smaller by exactly
        # 2 * L * 2 * H * Q * (T - (T+1)/2) per token.
        cfg = rm.make_cfg(layers=2, hidden=32, heads=4, vocab=60)
        seq = 9
        fwd, _ = measure(cfg, 1, seq, seed=0)
        j = rm.run_sizeup("flops", *rm.sizeup_model_flags(cfg), "--seq", seq,
                          "--causal-halving")
        expected = fwd / seq - 2 * 2 * 2 * 4 * 8 * (seq - (seq + 1) / 2)
        self.assertAlmostEqual(j["flops"]["forward_per_token"], expected, places=6)


if __name__ == "__main__":
    unittest.main()
