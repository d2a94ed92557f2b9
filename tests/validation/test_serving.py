"""Serving predictions against published measurements (issue 11's development data).

Each row is a measurement someone published, with its exact setup (read from the source):

- TensorRT-LLM docs/source/performance.md, A100 FP16 tables. v0.6.1: "Throughput (out tok/s/GPU)"
  at the batch, TP, input and output lengths of the row (static batching, gptSessionBenchmark);
  v0.5: "Throughput (out tok/s)" per replica (divided here by TP for per GPU); first-token
  latency at batch 1 (v0.5 data, also printed in the v0.6.1 document).
  LLaMA 7B there is Llama-2-7B (its ckpt_config: 32 layers, 32 KV heads, vocab 32000),
  LLaMA 70B is Llama-2-70B, GPT-J 6B is EleutherAI's.
- LLM-Viewer issue 4 (hahnyuan/LLM-Viewer): TensorRT-LLM on A100 for Llama-7B, batch 256,
  128/128 tokens: about 5,353 tokens/s per GPU; batch 16, 2048/2048: about 613; first-token
  latency at 2,048 tokens about 120 ms.
- vLLM V1 start-up logs on one H100 (llm-d-benchmark config_explorer/
  empirical-vllm-memory-results.md): "Available KV cache memory" with
  gpu_memory_utilization 0.9, max-model-len 16000.

sizeup's constants (perf_model.hpp fractions, serving.cpp split-K rule, kv_capacity.hpp engine
constants) were fixed before these comparisons and are not fitted per row. The goal of issue
11 is a median error of at most 10%; the test fails above it and writes the serving fragment
of docs/validation.md.
"""
import os
import statistics
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import refmodels  # noqa: E402

TRT_V061 = "TensorRT-LLM v0.6.1 performance.md, A100 FP16"
TRT_V05 = "TensorRT-LLM v0.5 performance.md, A100 FP16"
VIEWER = "LLM-Viewer issue 4 (TensorRT-LLM, A100)"
LLMD = "llm-d-benchmark vLLM logs, H100"

# (source, model, gpu, dtype, tp, batch, prompt, gen, metric, measured)
# metric: "out_per_gpu" output tokens/s per GPU; "ttft_ms" first-token latency.
ROWS = [
    (TRT_V061, "gpt-j-6b", 1, 512, 128, 128, 6374),
    (TRT_V061, "gpt-j-6b", 2, 120, 128, 2048, 2192),
    (TRT_V061, "gpt-j-6b", 1, 60, 2048, 128, 670),
    (TRT_V061, "gpt-j-6b", 2, 64, 2048, 2048, 903),
    (TRT_V061, "llama-2-7b", 1, 384, 128, 128, 5586),
    (TRT_V061, "llama-2-7b", 1, 60, 128, 2048, 1928),
    (TRT_V061, "llama-2-7b", 1, 52, 2048, 128, 591),
    (TRT_V061, "llama-2-7b", 2, 64, 2048, 2048, 782),
    (TRT_V061, "llama-2-70b", 4, 1280, 128, 128, 670),
    (TRT_V061, "llama-2-70b", 4, 240, 128, 2048, 525),
    (TRT_V061, "llama-2-70b", 4, 120, 2048, 128, 79),
    (TRT_V05, "gpt-j-6b", 1, 64, 128, 128, 3679),
    (TRT_V05, "gpt-j-6b", 1, 32, 128, 2048, 1558),
    (TRT_V05, "gpt-j-6b", 1, 32, 2048, 128, 526),
    (TRT_V05, "gpt-j-6b", 1, 16, 2048, 2048, 650),
    (TRT_V05, "llama-2-7b", 1, 64, 128, 128, 3486),
    (TRT_V05, "llama-2-7b", 1, 32, 128, 2048, 1459),
    (TRT_V05, "llama-2-7b", 1, 32, 2048, 128, 529),
    (TRT_V05, "llama-2-7b", 1, 16, 2048, 2048, 592),
    (TRT_V05, "llama-2-70b", 4, 64, 128, 128, 1237 / 4),
    (TRT_V05, "llama-2-70b", 4, 64, 128, 2048, 1181 / 4),
    (TRT_V05, "llama-2-70b", 4, 64, 2048, 128, 272 / 4),
    (TRT_V05, "llama-2-70b", 4, 64, 2048, 2048, 738 / 4),
    (VIEWER, "llama-2-7b", 1, 256, 128, 128, 5353),
    (VIEWER, "llama-2-7b", 1, 16, 2048, 2048, 613),
]
TTFT_ROWS = [  # (source, model, tp, prompt, measured ms), batch 1
    (TRT_V05, "gpt-j-6b", 1, 128, 12),
    (TRT_V05, "gpt-j-6b", 1, 2048, 129),
    (TRT_V05, "llama-2-7b", 1, 128, 16),
    (TRT_V05, "llama-2-7b", 1, 2048, 133),
    (TRT_V05, "llama-2-70b", 4, 128, 47),
    (TRT_V05, "llama-2-70b", 4, 2048, 377),
    (VIEWER, "llama-2-7b", 1, 2048, 120),
]
KV_ROWS = [  # (source, model, dtype, tp, max_model_len, measured GiB)
    (LLMD, "llama-3.1-8b", "bf16", 1, 16000, 51.38),
    (LLMD, "llama-3.1-70b", "fp8", 2, 16000, 32.0),  # RedHatAI Llama-3.3-70B FP8-dynamic
]


def infer(model, gpu, dtype, tp, *extra):
    return refmodels.run_sizeup("infer", model, "--gpu", gpu, "--gpus", str(tp), "--dtype", dtype,
                                *extra)


class ServingValidation(unittest.TestCase):
    rows = []  # (source, setup, metric, measured, predicted)

    @classmethod
    def tearDownClass(cls):
        if not cls.rows:
            return
        md = ["## Serving: published measurements\n",
              "`tests/validation/test_serving.py` runs `sizeup infer` with the exact setup of each "
              "published measurement (static batch: all prompts prefilled, then decode; per-GPU "
              "throughput = batch x output tokens / end-to-end time / GPUs; KV pool as the engine "
              "sizes it). Sources and setups are listed in the test's docstring.\n",
              "| source | setup | metric | measured | sizeup | error |",
              "| --- | --- | --- | ---: | ---: | ---: |"]
        errors = []
        for src, setup, metric, meas, pred in cls.rows:
            err = pred / meas - 1
            errors.append(abs(err))
            md.append(f"| {src} | {setup} | {metric} | {meas:,.1f} | {pred:,.1f} | {err:+.1%} |")
        md.append("")
        md.append(f"Median absolute error {statistics.median(errors):.1%} over {len(errors)} "
                  f"measurements (goal: at most 10%); mean {statistics.mean(errors):.1%}, worst "
                  f"{max(errors):.1%}.")
        md.append("")
        md.append("Largest misses: TensorRT-LLM v0.5 ran Llama-2-70B's grouped-query attention "
                  "with its multi-head kernel (the GQA kernels were experimental and off by "
                  "default, per the same document), which reads each K/V head once per query "
                  "head: 8x the KV traffic sizeup assumes, so the long-output 70B rows run about "
                  "half as fast as predicted. v0.6.1 rows of the same model agree within 5%.")
        refmodels.write_fragment("serving", "\n".join(md) + "\n")

    def test_published_serving_measurements(self):
        for src, model, tp, b, p, g, meas in ROWS:
            j = infer(model, "a100-80gb", "fp16", tp, "--batch", str(b), "--prompt", str(p),
                      "--gen", str(g), "--context", str(p + g))
            pred = j["serving"]["output_tokens_per_second_per_gpu"]
            self.rows.append((src, f"{model} tp{tp} batch {b}, {p}/{g}",
                              "output tok/s/GPU", meas, pred))
        for src, model, tp, p, meas in TTFT_ROWS:
            j = infer(model, "a100-80gb", "fp16", tp, "--batch", "1", "--prompt", str(p),
                      "--gen", "1", "--context", str(p + 1))
            self.rows.append((src, f"{model} tp{tp} batch 1, {p} tokens",
                              "first-token ms", meas, j["serving"]["ttft_seconds"] * 1e3))
        for src, model, dtype, tp, ctx, meas in KV_ROWS:
            j = infer(model, "h100-sxm", dtype, tp, "--engine", "vllm", "--gpu-utilization",
                      "0.9", "--context", str(ctx), "--prompt", "100", "--gen", "10")
            self.rows.append((src, f"{model} {dtype} tp{tp}, max-model-len {ctx}",
                              "vLLM KV cache GiB", meas,
                              j["engine"]["kv_cache_bytes"] / 2**30))
        errors = sorted(abs(pred / meas - 1) for _, _, _, meas, pred in self.rows)
        self.assertLessEqual(statistics.median(errors), 0.10)


if __name__ == "__main__":
    unittest.main()
