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
import random
import sys
import unittest

import torch

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
            "MoE: the reference routes each token to its top-k experts, so the active-expert "
            "count is exact. Not measured here: causal halving (eager attention computes the "
            "full T x T scores), sliding windows, MLA, encoder-decoder models.\n")
        rm.write_fragment("flops", "\n".join(lines) + "\n")

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
