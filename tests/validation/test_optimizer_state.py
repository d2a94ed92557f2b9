"""Gradient and optimizer-state bytes after one real optimizer step, compared exactly with
`sizeup train --json` (memory.gradients_bytes, memory.optimizer_bytes).

For each reference model (refmodels.py) and optimizer, run forward, backward and one
optimizer step on CPU, then measure
  gradients: the bytes of p.grad over unique trainable parameters;
  optimizer: the bytes of every tensor in optimizer.state (PyTorch >= 1.12 keeps Adam's
             `step` as a 1-element fp32 tensor per parameter, measured and modelled: 4 bytes);
and compare with sizeup at the same recipe (fp32 or pure bf16) and fine-tuning mode, with no
sharding. Adafactor, 8-bit Adam and Lion are not in torch 1.13 and are not measured.
Writes the optimizer_state Markdown fragment.
"""
import os
import sys
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import refmodels  # noqa: E402

MODELS = {
    "gpt2-style": dict(),
    "llama-style GQA untied": dict(layers=3, hidden=96, heads=8, kv_heads=2, ffn=256, vocab=1000,
                                   positions="rope", norm="rmsnorm", mlp="swiglu", bias=False,
                                   tied=False),
    "MoE 4 experts top-2": dict(layers=2, hidden=64, heads=4, kv_heads=2, ffn=128, vocab=300,
                                positions="rope", norm="rmsnorm", mlp="swiglu", bias=False,
                                tied=False, experts=4, experts_per_token=2, expert_ffn=48),
}

# (label, torch optimizer factory, sizeup --optimizer)
OPTIMIZERS = [
    ("SGD", lambda ps: torch.optim.SGD(ps, lr=1e-3), "sgd"),
    ("SGD momentum 0.9", lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9), "sgd-momentum"),
    ("Adam", lambda ps: torch.optim.Adam(ps, lr=1e-3), "adamw"),
    ("AdamW", lambda ps: torch.optim.AdamW(ps, lr=1e-3), "adamw"),
]


def tensor_bytes(t):
    return t.numel() * t.element_size()


def measure(cfg, make_opt, dtype, frozen_layers=None):
    torch.manual_seed(0)
    model = refmodels.CausalLM(cfg).to(dtype)
    if frozen_layers is not None:  # sizeup --finetune freeze: embeddings + first k layers
        for mod in [model.embed_tokens, getattr(model, "embed_positions", None),
                    *model.layers[:frozen_layers]]:
            if mod is not None:
                for p in mod.parameters():
                    p.requires_grad_(False)
    params, seen = [], set()
    for p in model.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            params.append(p)
    opt = make_opt(params)
    ids = torch.randint(0, cfg["vocab"], (2, 16))
    logits = model(ids)
    loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, cfg["vocab"]),
                                             ids.reshape(-1))
    loss.backward()
    opt.step()
    grads = sum(tensor_bytes(p.grad) for p in params if p.grad is not None)
    state = 0
    for st in opt.state.values():
        for v in st.values():
            if torch.is_tensor(v):
                state += tensor_bytes(v)
    return grads, state


class OptimizerStateTest(unittest.TestCase):
    def test_gradient_and_state_bytes_match_exactly(self):
        rows = []
        configs = []
        for mname, mkw in MODELS.items():
            for oname, make, sz in OPTIMIZERS:
                configs.append((mname, mkw, oname, make, sz, torch.float32, "fp32", None))
        # Pure bf16 (states in bf16, `step` still fp32) and frozen layers.
        adam = OPTIMIZERS[3]
        mom = OPTIMIZERS[1]
        for mname in ["gpt2-style", "llama-style GQA untied"]:
            configs.append((mname, MODELS[mname], adam[0], adam[1], adam[2], torch.bfloat16,
                            "bf16", None))
            configs.append((mname, MODELS[mname], adam[0], adam[1], adam[2], torch.float32,
                            "fp32", 1))
        configs.append(("llama-style GQA untied", MODELS["llama-style GQA untied"], mom[0],
                        mom[1], mom[2], torch.bfloat16, "bf16", 2))
        self.assertGreaterEqual(len(configs), 10)
        for mname, mkw, oname, make, sz, dtype, prec, frozen in configs:
            cfg = refmodels.make_cfg(**mkw)
            grads, state = measure(cfg, make, dtype, frozen)
            args = ["train", *refmodels.sizeup_model_flags(cfg), "--precision", prec,
                    "--optimizer", sz, "--seq", "16", "--micro-batch", "2"]
            if frozen is not None:
                args += ["--finetune", "freeze", "--frozen-layers", str(frozen)]
            j = refmodels.run_sizeup(*args)
            g, o = j["memory"]["gradients_bytes"], j["memory"]["optimizer_bytes"]
            label = f"{mname}, {oname}, {prec}" + (f", {frozen} layers frozen" if frozen else "")
            rows.append((label, grads, g, state, o))
            with self.subTest(label):
                self.assertEqual(g, grads, f"{label}: gradients")
                self.assertEqual(o, state, f"{label}: optimizer state")
        md = ["## Gradients and optimizer state after a real step\n\n"
              "Gradient and optimizer-state bytes measured after one optimizer step of the "
              "PyTorch reference models (torch " + torch.__version__ + ", CPU), against "
              "`sizeup train --json` with the same recipe; exact agreement is required. "
              "Adam's `step` is a 1-element fp32 tensor per parameter tensor in this PyTorch "
              "and is counted by both.", "",
              "| configuration | gradients measured | sizeup | optimizer state measured | sizeup |",
              "| --- | ---: | ---: | ---: | ---: |"]
        for label, gm, gs, om, os_ in rows:
            md.append(f"| {label} | {gm:,} | {gs:,} | {om:,} | {os_:,} |")
        md.append("")
        md.append(f"{len(rows)} configurations, all exact.")
        refmodels.write_fragment("optimizer_state", "\n".join(md) + "\n")


if __name__ == "__main__":
    unittest.main()
