"""Peak memory of a training step: live tensor bytes measured through forward and backward vs
sizeup's activations + logits + backward peak.

A TorchDispatchMode (LiveBytes) sees every tensor an aten op creates during the forward and
the backward, counts its storage once while any tensor on it is alive (weakref finalizers;
PyTorch keeps a tensor's Python object alive as long as autograd holds the tensor), and keeps
the peak. The step measured is the second micro-batch of a run with gradient accumulation: the
parameter gradients created by the first stay live (counted), as they do for every micro-batch
after the first. Weights were created before the measurement and there is no optimizer state
(sizeup lists both apart), so sizeup's prediction is gradients_bytes + activations_bytes +
logits_bytes + backward_peak_bytes of `sizeup train --json`.

Loss implementations measured as their frameworks write them: standard (HF ForCausalLMLoss:
the model returns the logits, the loss upcasts them to fp32 and calls cross_entropy), chunked
(torchtune CEWithChunkedOutputLoss: 8 chunks of the sequence, each projected and upcast in
turn; measured in bf16, the dtype whose upcast the chunking avoids: in fp32 autograd runs every
chunk's loss backward before the head's and keeps about half the fp32 logit gradients, which
sizeup does not model). Attention is eager (no fused kernel on CPU in PyTorch 1.13); dropout 0 and RMSNorm so
that the CPU kernels keep the same dtypes as the CUDA ones sizeup models. Tolerance 10%.
Writes the "peak-memory" fragment.
"""
import os
import sys
import unittest
import weakref

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.checkpoint import checkpoint

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import refmodels  # noqa: E402

TOLERANCE = 0.10
CHUNKS = 8  # torchtune num_output_chunks


class LiveBytes(TorchDispatchMode):
    """Live bytes of the tensors created by aten ops (each storage once) and their peak."""

    def __init__(self, exclude=()):
        super().__init__()
        self.exclude = {t.storage().data_ptr() for t in exclude}  # e.g. the weights
        self.count = {}  # storage pointer -> [tensors alive, bytes]
        self.live = 0
        self.peak = 0

    def _track(self, t):
        st = t.storage()
        ptr = st.data_ptr()
        if ptr == 0 or ptr in self.exclude:  # views of weights (e.g. weight.t()) are not new
            return
        c = self.count.get(ptr)
        if c is None:
            c = self.count[ptr] = [0, st.size() * t.element_size()]
            self.live += c[1]
            self.peak = max(self.peak, self.live)
        c[0] += 1
        weakref.finalize(t, self._release, ptr)

    def _release(self, ptr):
        c = self.count.get(ptr)
        if c is None:
            return
        c[0] -= 1
        if c[0] == 0:
            self.live -= c[1]
            del self.count[ptr]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self._track(t)
        return out


class Checkpointed(torch.nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return checkpoint(self.block, x)


class Step(torch.nn.Module):
    """The model and its loss, as the framework of `loss` computes them."""

    def __init__(self, cfg, recompute, loss):
        super().__init__()
        self.lm = refmodels.CausalLM(cfg)
        self.loss = loss
        if recompute == "full":
            self.lm.layers = torch.nn.ModuleList(Checkpointed(b) for b in self.lm.layers)

    def hidden(self, ids):
        lm = self.lm
        x = lm.drop(lm.embed_tokens(ids))
        for layer in lm.layers:
            x = layer(x)
        return lm.norm(x)

    def forward(self, ids, labels):
        if self.loss == "standard":  # HF: logits returned, upcast inside the loss
            logits = self.lm(ids)
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.view(-1))
            return loss, logits
        h = self.hidden(ids)  # torchtune: chunked output projection, chunk by chunk upcast
        chunks = [self.lm.lm_head(c) for c in h.chunk(CHUNKS, dim=1)]
        total = 0.0
        for c, y in zip(chunks, labels.chunk(CHUNKS, dim=1)):
            total = total + F.cross_entropy(c.float().reshape(-1, c.shape[-1]), y.reshape(-1),
                                            reduction="sum")
        return total / labels.numel(), chunks


def measure(c):
    torch.manual_seed(0)
    cfg, b, s, dtype = c["cfg"], c["batch"], c["seq"], c["dtype"]
    model = Step(cfg, c["recompute"], c["loss"]).to(dtype).train()
    ids = torch.randint(0, cfg["vocab"], (b, s))
    labels = torch.randint(0, cfg["vocab"], (b, s))
    meter = LiveBytes(exclude=list(model.parameters()))
    with meter:
        loss, out = model(ids, labels)  # first micro-batch: creates the parameter gradients
        loss.backward()
        del loss, out
        meter.peak = meter.live  # the gradients stay live, as in gradient accumulation
        loss, out = model(ids, labels)
        loss.backward()
        del loss, out
    return meter.peak


def predict(c):
    j = refmodels.run_sizeup(
        "train", *refmodels.sizeup_model_flags(c["cfg"]), "--micro-batch", c["batch"],
        "--seq", c["seq"], "--recompute", c["recompute"], "--attention", "eager",
        "--precision", "fp32" if c["dtype"] == torch.float32 else "bf16",
        "--optimizer", "sgd", "--loss", c["loss"], "--overhead", "0")
    m = j["memory"]
    return (m["gradients_bytes"] + m["activations_bytes"] + m["logits_bytes"] +
            m["backward_peak_bytes"])


def configurations():
    out = []
    for vocab, hidden, layers, seq in [(32000, 64, 2, 96), (4096, 128, 3, 64), (50257, 64, 1, 128),
                                       (512, 256, 2, 48)]:
        for loss, dtype in [("standard", torch.float32), ("standard", torch.bfloat16),
                            ("chunked", torch.bfloat16)]:
            for recompute in ["none", "full"]:
                if True:
                    cfg = refmodels.make_cfg(layers=layers, hidden=hidden, heads=4, kv_heads=2,
                                             vocab=vocab, max_positions=256, positions="rope",
                                             norm="rmsnorm", mlp="swiglu", bias=False,
                                             tied=False, dropout=0.0)
                    out.append(dict(cfg=cfg, batch=2, seq=seq, loss=loss, recompute=recompute,
                                    dtype=dtype))
    return out


def describe(c):
    cfg = c["cfg"]
    return (f"V{cfg['vocab']} h{cfg['hidden']} L{cfg['layers']} b{c['batch']} s{c['seq']} "
            f"{c['loss']} recompute {c['recompute']} "
            f"{'fp32' if c['dtype'] == torch.float32 else 'bf16'}")


class PeakMemoryValidation(unittest.TestCase):
    def test_peak_within_tolerance(self):
        rows, worst = [], 0.0
        for c in configurations():
            measured, predicted = measure(c), predict(c)
            err = (predicted - measured) / measured
            worst = max(worst, abs(err))
            rows.append((describe(c), measured, predicted, err))
            with self.subTest(config=describe(c)):
                self.assertLessEqual(abs(err), TOLERANCE,
                                     f"{describe(c)}: measured {measured}, sizeup {predicted}")
        write(rows, worst)


def write(rows, worst):
    lines = [
        "## Peak memory of a training step (activations, logits, loss buffers)",
        "",
        "Live tensor bytes measured through the forward and backward of the second "
        "micro-batch (parameter gradients of the first still live), by a TorchDispatchMode that "
        "counts each storage while any tensor on it is alive (`tests/validation/"
        "test_peak_memory.py`), vs `sizeup train --json` gradients_bytes + activations_bytes "
        "+ logits_bytes + backward_peak_bytes. Standard loss: HF ForCausalLMLoss (logits returned, upcast to "
        "fp32 in the loss); chunked: torchtune CEWithChunkedOutputLoss (8 chunks). Eager "
        "attention, RMSNorm, SwiGLU, GQA, dropout 0, PyTorch 1.13 on CPU.",
        "",
        f"{len(rows)} configurations; worst relative error {worst:.1%} (tolerance "
        f"{TOLERANCE:.0%}).",
        "",
        "| configuration | measured peak | sizeup | rel. error |",
        "| --- | ---: | ---: | ---: |",
    ]
    for d, m, p, e in rows:
        lines.append(f"| {d} | {m:,} | {p:,} | {e:+.1%} |")
    refmodels.write_fragment("peak-memory", "\n".join(lines) + "\n")


if __name__ == "__main__":
    unittest.main()
