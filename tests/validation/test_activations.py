"""Activation memory: bytes PyTorch autograd saves for backward vs sizeup's pytorch convention.

For every combination of dropout on/off, MHA/GQA, GELU/SwiGLU MLP, LayerNorm/RMSNorm,
dense/MoE, recompute none/selective/full and fp32/bf16 (192 configurations, other shape
parameters drawn at random with a fixed seed), this test
 * measures one layer (refmodels.Block) with refmodels.saved_bytes and compares it with
   `sizeup activations ... --attention eager --convention pytorch --cpu-kernels --json`
   per_layer_bytes (moe_layer_bytes for MoE models);
 * measures the whole model with its loss (refmodels.CausalLM + fp32 cross-entropy) and
   compares it with total_bytes minus the rows that are not saved for backward (the logits
   tensor the model returns, and the recompute peak of full recomputation).
Selective recompute wraps the core attention (scores, softmax, dropout, times V) in
torch.utils.checkpoint, as Megatron does; full recompute wraps each layer.
--cpu-kernels selects the CPU kernels' saved dtypes (dropout keeps a p-byte noise tensor,
LayerNorm keeps mean/rstd in the activation dtype); on CUDA they are 1 byte and fp32.
Tolerance 1%; the agreement is expected to be exact. Writes the "activations" fragment.
"""
import itertools
import os
import random
import sys
import unittest

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import refmodels  # noqa: E402

NOT_SAVED = {"logits", "recompute_peak", "loss_backward_buffers"}  # not held by autograd
TOLERANCE = 0.01


def bf16_supported():
    try:
        cfg = refmodels.make_cfg(layers=1, hidden=16, heads=2, vocab=11, dropout=0.1)
        x = torch.randn(1, 3, 16, dtype=torch.bfloat16, requires_grad=True)
        refmodels.Block(cfg).to(torch.bfloat16)(x).float().sum().backward()
        return True
    except RuntimeError:
        return False


DTYPES = [torch.float32] + ([torch.bfloat16] if bf16_supported() else [])
DTYPE_FLAG = {torch.float32: "fp32", torch.bfloat16: "bf16"}


def configurations():
    """Every combination of the seven switches, with random shapes (fixed seed)."""
    rng = random.Random(20221205)
    out = []
    for dropout, gqa, mlp, norm, moe, recompute, dtype in itertools.product(
            [0.0, 0.1], [False, True], ["gelu", "swiglu"], ["layernorm", "rmsnorm"],
            [False, True], ["none", "selective", "full"], DTYPES):
        heads = rng.choice([2, 4, 6, 8])
        head_dim = rng.choice([4, 8, 12, 16])
        kv_heads = rng.choice([d for d in range(1, heads) if heads % d == 0]) if gqa else heads
        hidden = rng.choice([heads * head_dim, 8 * rng.randint(3, 12)])
        cfg = refmodels.make_cfg(
            layers=2, hidden=hidden, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
            ffn=rng.choice([2, 3, 4]) * hidden, vocab=rng.randint(50, 300), max_positions=64,
            positions=rng.choice(["learned", "rope"]), norm=norm, mlp=mlp,
            bias=rng.random() < 0.5 and not moe, tied=rng.random() < 0.5, dropout=dropout,
            experts=rng.choice([4, 6]) if moe else 0, experts_per_token=rng.choice([1, 2]),
            expert_ffn=rng.choice([16, 24, 40]) if moe else None,
            recompute_core=recompute == "selective")
        out.append(dict(cfg=cfg, batch=rng.randint(1, 3), seq=rng.randint(4, 24),
                        recompute=recompute, dtype=dtype))
    return out


class Checkpointed(torch.nn.Module):
    """torch.utils.checkpoint around one layer (reentrant: keeps only the layer input)."""

    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return checkpoint(self.block, x)


class WithLoss(torch.nn.Module):
    """CausalLM + loss as HF computes it: logits.float() then cross_entropy."""

    def __init__(self, cfg, recompute):
        super().__init__()
        self.lm = refmodels.CausalLM(cfg)
        if recompute == "full":
            self.lm.layers = torch.nn.ModuleList(Checkpointed(b) for b in self.lm.layers)

    def forward(self, ids, labels):
        logits = self.lm(ids)
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.view(-1))


def measure(c):
    torch.manual_seed(0)
    cfg, b, s, dtype = c["cfg"], c["batch"], c["seq"], c["dtype"]
    block = refmodels.Block(cfg).to(dtype).train()
    if c["recompute"] == "full":
        block = Checkpointed(block)
    x = torch.randn(b, s, cfg["hidden"], dtype=dtype, requires_grad=True)
    layer, _ = refmodels.saved_bytes(block, [x])
    model = WithLoss(cfg, c["recompute"]).to(dtype).train()
    ids = torch.randint(0, cfg["vocab"], (b, s))
    labels = torch.randint(0, cfg["vocab"], (b, s))
    total, loss = refmodels.saved_bytes(model, [ids, labels])
    loss.backward()  # the graph is usable: nothing was freed while measuring
    return layer, total


def predict(c):
    j = refmodels.run_sizeup(
        "activations", *refmodels.sizeup_model_flags(c["cfg"]), "--batch", c["batch"],
        "--seq", c["seq"], "--dropout", c["cfg"]["dropout"], "--recompute", c["recompute"],
        "--attention", "eager", "--activation-dtype", DTYPE_FLAG[c["dtype"]],
        "--convention", "pytorch", "--cpu-kernels")
    layer = j["moe_layer_bytes"] if c["cfg"]["experts"] else j["per_layer_bytes"]
    not_saved = sum(r["bytes"] for r in j["outside"] if r["key"] in NOT_SAVED)
    return layer, j["total_bytes"] - not_saved


def describe(c):
    cfg = c["cfg"]
    kv = "MHA" if cfg["kv_heads"] == cfg["heads"] else f"GQA {cfg['heads']}/{cfg['kv_heads']}"
    moe = f"MoE {cfg['experts']}x top-{cfg['experts_per_token']}" if cfg["experts"] else "dense"
    return (f"h{cfg['hidden']} d{cfg['head_dim']} {kv} {cfg['norm']} {cfg['mlp']} {moe} "
            f"{cfg['positions']} drop {cfg['dropout']} b{c['batch']} s{c['seq']} "
            f"{c['recompute']} {DTYPE_FLAG[c['dtype']]}")


def rel(measured, predicted):
    return abs(predicted - measured) / measured


class ActivationValidation(unittest.TestCase):
    def test_saved_bytes_match_pytorch(self):
        configs = configurations()
        self.assertGreaterEqual(len(configs), 36)
        rows, worst, exact = [], 0.0, 0
        for c in configs:
            m_layer, m_total = measure(c)
            p_layer, p_total = predict(c)
            e_layer, e_total = rel(m_layer, p_layer), rel(m_total, p_total)
            worst = max(worst, e_layer, e_total)
            exact += (m_layer == p_layer) + (m_total == p_total)
            rows.append((describe(c), m_layer, p_layer, e_layer, m_total, p_total, e_total))
            with self.subTest(config=describe(c)):
                self.assertLessEqual(e_layer, TOLERANCE, f"layer {m_layer} vs {p_layer}")
                self.assertLessEqual(e_total, TOLERANCE, f"model {m_total} vs {p_total}")
        write(rows, worst, exact, 2 * len(configs))
        print(f"{len(configs)} configurations, {exact}/{2 * len(configs)} exact, "
              f"worst relative error {worst:.2e}")

    def test_saved_bytes_counts_a_shared_storage_once(self):
        # q, k and v projections read the same normalised input: one storage, counted once.
        lin = torch.nn.ModuleList(torch.nn.Linear(8, 8, bias=False) for _ in range(3))

        class Three(torch.nn.Module):
            def forward(self, x):
                y = torch.tanh(x)  # tanh keeps its output: 4*5*8 bytes
                return sum(layer(y) for layer in lin)

        mod = Three()
        mod.lin = lin
        n, _ = refmodels.saved_bytes(mod, [torch.randn(5, 8, requires_grad=True)])
        self.assertEqual(n, 5 * 8 * 4)  # tanh output = the linears' shared input


def write(rows, worst, exact, compared):
    lines = [
        "## Activation memory (saved for backward)",
        "",
        "Bytes PyTorch autograd saves for backward (`saved_tensors_hooks`; parameters "
        "excluded; tensors sharing a storage counted once), measured on the reference modules "
        "of `tests/validation/refmodels.py` (PyTorch %s, CPU), vs `sizeup activations "
        "--convention pytorch --attention eager --cpu-kernels`. *Layer*: one transformer "
        "layer; *model*: every layer plus embedding, final norm, head and fp32 cross-entropy, "
        "compared with `total_bytes` minus the rows autograd does not hold (the returned "
        "logits and the full-recompute peak). Selective recompute wraps the core attention "
        "(scores, softmax, dropout, times V) and full recompute each layer in "
        "`torch.utils.checkpoint`. Flash attention is not measured (no fused kernel in "
        "PyTorch 1.13 on CPU)." % torch.__version__,
        "",
        f"{len(rows)} configurations; {exact} of {compared} comparisons exact; worst "
        f"relative error {worst:.2e} (tolerance {TOLERANCE:.0%}).",
        "",
        "| configuration | layer measured | layer sizeup | rel. error | model measured "
        "| model sizeup | rel. error |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d, ml, pl, el, mt, pt, et in rows:
        lines.append(f"| {d} | {ml:,} | {pl:,} | {el:.1e} | {mt:,} | {pt:,} | {et:.1e} |")
    refmodels.write_fragment("activations", "\n".join(lines) + "\n")


if __name__ == "__main__":
    unittest.main()
