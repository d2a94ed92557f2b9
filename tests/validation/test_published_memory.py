"""Published measured training memory vs sizeup with the matching --framework.

Each row is a measurement a framework's documentation or a paper published, with the setup it
states, the quantity it measured (nvidia-smi = sizeup's `device_bytes`; max_memory_reserved =
`reserved_bytes`) and the sizeup command that describes the same run. Tolerance 10%.
Writes the "published-memory" fragment of docs/validation.md.

Sources
- HF-PERF: Hugging Face Transformers docs, "Methods and tools for efficient training on a
  single GPU" (perf_train_gpu_one, transformers v4.2x, 2022): bert-large-uncased with a
  sequence-classification head (AutoModelForSequenceClassification), sequence 512, HF Trainer
  (AdamW unless stated), Tesla V100-SXM2 16 GB, CUDA 11.2, driver 460, GPU memory read with
  pynvml (= nvidia-smi, MiB). Context measured on the same machine: 1343 MiB ("Model training
  anatomy"). BERT's default attention was eager and its dropout 0.1 at the time.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import refmodels  # noqa: E402

TOLERANCE = 0.10
MIB = 1048576

HF_BERT = ["bert-large-uncased", "--framework", "hf", "--head", "classifier", "--seq", "512",
           "--attention", "eager", "--dropout", "0.1", "--cuda-loading", "eager", "--gpu",
           "custom", "--gpu-memory", "16160MiB", "--peak-tflops", "125"]

# (source, setup, sizeup arguments, measured bytes, measured quantity)
MEASUREMENTS = [
    ("HF-PERF", "BERT-large fp32, batch 4", ["--precision", "fp32", "--micro-batch", "4"],
     14949 * MIB, "device"),
    ("HF-PERF", "BERT-large fp32, batch 1 (gradient accumulation 4)",
     ["--precision", "fp32", "--micro-batch", "1"], 8681 * MIB, "device"),
    ("HF-PERF", "BERT-large fp32, batch 1, gradient checkpointing",
     ["--precision", "fp32", "--micro-batch", "1", "--recompute", "full"], 6775 * MIB, "device"),
    ("HF-PERF", "BERT-large fp16 AMP, batch 4", ["--precision", "mixed-fp16", "--micro-batch", "4"],
     13939 * MIB, "device"),
    ("HF-PERF", "BERT-large fp16 AMP, batch 1, gradient checkpointing",
     ["--precision", "mixed-fp16", "--micro-batch", "1", "--recompute", "full"], 7275 * MIB,
     "device"),
    ("HF-PERF", "BERT-large fp32, Adafactor, batch 4",
     ["--precision", "fp32", "--micro-batch", "4", "--optimizer", "adafactor"], 12295 * MIB,
     "device"),
    ("HF-PERF", "BERT-large fp16 AMP, Adafactor, batch 1, gradient checkpointing",
     ["--precision", "mixed-fp16", "--micro-batch", "1", "--recompute", "full", "--optimizer",
      "adafactor"], 4847 * MIB, "device"),
    ("HF-PERF", "BERT-large fp32, 8-bit Adam (bitsandbytes), batch 4",
     ["--precision", "fp32", "--micro-batch", "4", "--optimizer", "adam8bit"], 13085 * MIB,
     "device"),
    ("HF-PERF", "BERT-large fp16 AMP, 8-bit Adam, batch 1, gradient checkpointing",
     ["--precision", "mixed-fp16", "--micro-batch", "1", "--recompute", "full", "--optimizer",
      "adam8bit"], 5363 * MIB, "device"),
]

FITTED = {0, 1, 5}  # the runs phi (allocator.cpp) was fitted on: fp32 without recomputation


def predict(args, quantity):
    j = refmodels.run_sizeup("train", *HF_BERT, *args)
    return j["memory"][quantity + "_bytes"], j


class PublishedMemory(unittest.TestCase):
    def test_within_tolerance(self):
        rows, worst = [], 0.0
        for i, (src, setup, args, measured, quantity) in enumerate(MEASUREMENTS):
            predicted, _ = predict(args, quantity)
            err = (predicted - measured) / measured
            worst = max(worst, abs(err))
            rows.append((src, setup, " ".join(args), quantity, measured, predicted, err,
                         i in FITTED))
            with self.subTest(setup=setup):
                self.assertLessEqual(abs(err), TOLERANCE,
                                     f"{setup}: measured {measured}, sizeup {predicted}")
        write(rows, worst)

    def test_mixed_precision_holds_fp32_norm_and_softmax_tensors(self):
        # Issue 13: an fp16 AMP run measures ~30% above sizeup's old estimate, which stored
        # every activation in 16 bits. Under autocast the activations must exceed the pure
        # 16-bit count of the same run.
        _, amp = predict(["--precision", "mixed-fp16", "--micro-batch", "4"], "device")
        pure = refmodels.run_sizeup("train", *HF_BERT, "--precision", "fp16", "--micro-batch", "4")
        self.assertGreater(amp["memory"]["activations_bytes"],
                           1.2 * pure["memory"]["activations_bytes"])


def write(rows, worst):
    lines = [
        "## Published measurements of training memory",
        "",
        "Measured memory that frameworks' documentation published, against `sizeup train` with "
        "the matching `--framework` and the setup each source states "
        "(`tests/validation/test_published_memory.py`). *device* is what nvidia-smi shows "
        "(sizeup's `memory.device_bytes`: allocated + caching-allocator fragmentation + CUDA "
        "context); *reserved* is `torch.cuda.max_memory_reserved`.",
        "",
        "Source HF-PERF: Hugging Face Transformers docs, *Methods and tools for efficient "
        "training on a single GPU* (2022): bert-large-uncased for sequence classification, "
        "sequence 512, Trainer, V100-SXM2 16 GB, CUDA 11.2 (eager module loading; context "
        "1343 MiB measured in *Model training anatomy*). sizeup: `sizeup train " +
        " ".join(HF_BERT) + " ...`.",
        "",
        f"{len(rows)} measurements; worst relative error {worst:.1%} (tolerance "
        f"{TOLERANCE:.0%}). Rows marked *fitted* are those the allocator's fragmentation share "
        "(0.25 of the transient bytes, `src/allocator.cpp`) was fitted on; the others check it.",
        "",
        "| source | setup | sizeup options | measured | MiB | sizeup MiB | rel. error | |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for src, setup, args, q, m, p, e, fitted in rows:
        lines.append(f"| {src} | {setup} | `{args}` | {q} | {m / MIB:,.0f} | {p / MIB:,.0f} | "
                     f"{e:+.1%} | {'fitted' if fitted else ''} |")
    refmodels.write_fragment("published-memory", "\n".join(lines) + "\n")


if __name__ == "__main__":
    unittest.main()
