"""Predicted step time against published measurements of real training runs.

Each run is given to `sizeup train --json` with the setup its source states (model shape,
GPUs, tensor/pipeline/data parallelism, virtual stages, micro-batch, global batch, sequence,
recomputation, sequence parallelism, precision, attention kernel, data-parallel overlap) and
the predicted figure is compared with the published one:
  - Narayanan et al. 2021 (SC'21), Table 1 and Table 2: TFLOP/s per GPU as the paper counts
    them (Eq. 3, which includes the recomputed forward: our time.hardware_tflops_per_gpu).
    Setups from the paper's artifact, Megatron-LM examples/sc21/run_table_1.sh (micro-batch,
    --num-layers-per-virtual-pipeline-stage, DDP=torch for the small models, local DDP with
    the reduction after the backward pass for the others); fp16, full recomputation, eager
    attention with dropout 0.1, A100-80GB.
  - Korthikanti et al. 2022, Table 5 (Table 3 setups: 22B on 8 GPUs, global batch 4; 1T on
    512 GPUs, TP 8 PP 64, global batch 512; micro-batch 1): iteration seconds, full
    recomputation vs sequence parallelism + selective recomputation.
  - NVIDIA NeMo performance summary (24.12, H100 FP8): tokens/s per GPU.
  - torchtitan docs/performance.md Table 1 (Llama 3.1 8B, 8 x H100 96GB HBM2e 2.4 TB/s, FSDP,
    local batch 2, selective activation checkpointing, eager): tokens/s per GPU.
Writes the step_time fragment of docs/validation.md. The model's constants
(include/sizeup/perf_model.hpp) are fixed; nothing here is special-cased.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import refmodels  # noqa: E402


def gpt(layers, hidden, heads):
    # GPT of the Megatron papers: learned positions, LayerNorm, GELU MLP of 4h, biases, tied
    # head, vocabulary 51,200.
    return ["--layers", layers, "--hidden", hidden, "--heads", heads, "--vocab", 51200,
            "--max-positions", 2048]


def megatron(gpus, tp, pp, v, mb, gb, overlap, recompute="full", sp=False,
             precision="mixed-fp16", seq=2048):
    a = ["--gpu", "a100-80gb", "--gpus", gpus, "--tp", tp, "--pp", pp, "--micro-batch", mb,
         "--global-batch", gb, "--seq", seq, "--recompute", recompute, "--precision", precision,
         "--attention", "eager", "--dropout", 0.1]
    if v > 1:
        a += ["--schedule", "interleaved", "--interleave", v]
    if sp:
        a.append("--sequence-parallel")
    if not overlap:
        a.append("--no-dp-overlap")
    return a


SC21 = "Narayanan et al. 2021"
KOR = "Korthikanti et al. 2022"
NEMO = "NeMo perf. summary 24.12"
TITAN = "torchtitan performance.md"

# (source, label, args, metric, published, in the fitted development set)
RUNS = [
    (SC21, "T1 1.7B, 32 GPUs", gpt(24, 2304, 24) + megatron(32, 1, 1, 1, 16, 512, True),
     "hw_tflops", 137),
    (SC21, "T1 3.6B, 64 GPUs", gpt(30, 3072, 32) + megatron(64, 2, 1, 1, 16, 512, True),
     "hw_tflops", 138),
    (SC21, "T1 7.5B, 128 GPUs", gpt(36, 4096, 32) + megatron(128, 4, 1, 1, 16, 512, True),
     "hw_tflops", 142),
    (SC21, "T1 18.4B, 256 GPUs", gpt(40, 6144, 48) + megatron(256, 8, 1, 1, 8, 1024, True),
     "hw_tflops", 135),
    (SC21, "T1 76.1B, 1024 GPUs", gpt(60, 10240, 80) + megatron(1024, 8, 4, 3, 2, 1792, False),
     "hw_tflops", 140),
    (SC21, "T1 310.1B, 1920 GPUs",
     gpt(96, 16384, 128) + megatron(1920, 8, 16, 2, 1, 2160, False), "hw_tflops", 155),
    (SC21, "T1 1T, 3072 GPUs", gpt(128, 25600, 160) + megatron(3072, 8, 64, 1, 1, 3072, False),
     "hw_tflops", 163),
    (SC21, "T2 PTD-P 175B, 384 GPUs",
     gpt(96, 12288, 96) + megatron(384, 8, 12, 1, 1, 1536, False), "hw_tflops", 153),
    (SC21, "T2 PTD-P 175B, 768 GPUs",
     gpt(96, 12288, 96) + megatron(768, 8, 12, 1, 1, 1536, False), "hw_tflops", 149),
    (SC21, "T2 PTD-P 175B, 1536 GPUs",
     gpt(96, 12288, 96) + megatron(1536, 8, 12, 1, 1, 1536, False), "hw_tflops", 141),
    (SC21, "T2 PTD-P 530B, 560 GPUs",
     gpt(105, 20480, 128) + megatron(560, 8, 35, 3, 1, 2240, False), "hw_tflops", 171),
    (SC21, "T2 PTD-P 530B, 1120 GPUs",
     gpt(105, 20480, 128) + megatron(1120, 8, 35, 3, 1, 2240, False), "hw_tflops", 167),
    (SC21, "T2 PTD-P 530B, 2240 GPUs",
     gpt(105, 20480, 128) + megatron(2240, 8, 35, 3, 1, 2240, False), "hw_tflops", 159),
    (KOR, "T5 22B full recompute", gpt(48, 6144, 64) + megatron(8, 8, 1, 1, 1, 4, True,
                                                                 precision="mixed-bf16"),
     "step_seconds", 1.42),
    (KOR, "T5 22B SP + selective", gpt(48, 6144, 64) + megatron(
        8, 8, 1, 1, 1, 4, True, recompute="selective", sp=True, precision="mixed-bf16"),
     "step_seconds", 1.10),
    (KOR, "T5 1T full recompute", gpt(128, 25600, 160) + megatron(512, 8, 64, 1, 1, 512, True,
                                                                   precision="mixed-bf16"),
     "step_seconds", 94.42),
    (KOR, "T5 1T SP + selective", gpt(128, 25600, 160) + megatron(
        512, 8, 64, 1, 1, 512, True, recompute="selective", sp=True, precision="mixed-bf16"),
     "step_seconds", 71.49),
    (NEMO, "GPT-3 175B, 512 H100, TP4 PP8 VP6, FP8",
     gpt(96, 12288, 96) + ["--gpu", "h100-sxm", "--gpus", 512, "--tp", 4, "--pp", 8,
                           "--schedule", "interleaved", "--interleave", 6, "--micro-batch", 2,
                           "--global-batch", 2048, "--seq", 2048, "--sequence-parallel",
                           "--precision", "fp8", "--zero", 1],
     "tokens_per_gpu", 825),
    (NEMO, "Llama 3 70B, 64 H100, TP4 PP4 CP2 VP5, FP8",
     ["llama-3-70b", "--gpu", "h100-sxm", "--gpus", 64, "--tp", 4, "--pp", 4, "--cp", 2,
      "--schedule", "interleaved", "--interleave", 5, "--micro-batch", 1, "--global-batch", 128,
      "--seq", 8192, "--sequence-parallel", "--precision", "fp8", "--zero", 1],
     "tokens_per_gpu", 1524),
]
# Outside the goal: runs whose software the model does not describe (see the notes).
OTHER = [
    (TITAN, "Llama 3.1 8B, 8 H100, FSDP, eager",
     ["llama-3.1-8b", "--gpu", "custom", "--peak-tflops", 989.4, "--gpu-memory", "96GiB",
      "--bandwidth", "2.4TB", "--intra-node-bandwidth", "450GB", "--inter-node-bandwidth",
      "50GB", "--gpus", 8, "--fsdp", "full", "--micro-batch", 2, "--global-batch", 16, "--seq",
      8192, "--recompute", "selective"],
     "tokens_per_gpu", 5762),
] + [
    (SC21, f"T2 ZeRO-3 (DeepSpeed) 175B, {g} GPUs",
     gpt(96, 12288, 96) + megatron(g, 1, 1, 1, mb, 1536, True) + ["--zero", 3], "hw_tflops", pub)
    for g, mb, pub in [(384, 4, 144), (768, 2, 88), (1536, 1, 44)]
]

# What the model reaches on RUNS (regression bounds: the goal was mean 3%, worst 8%).
MEAN_BOUND, WORST_BOUND = 0.06, 0.15


def predict(args, metric):
    j = refmodels.run_sizeup("train", *args)
    t = j["time"]
    return {"hw_tflops": t["hardware_tflops_per_gpu"], "step_seconds": t["step_seconds"],
            "tokens_per_gpu": t["tokens_per_second_per_gpu"]}[metric]


UNITS = {"hw_tflops": "TFLOP/s/GPU", "step_seconds": "s/step", "tokens_per_gpu": "tokens/s/GPU"}


class StepTimeValidation(unittest.TestCase):
    def test_published_runs(self):
        rows, errs = [], []
        for src, label, args, metric, pub in RUNS:
            got = predict(args, metric)
            err = (got - pub) / pub
            errs.append(abs(err))
            rows.append((src, label, metric, pub, got, err, True))
        other = []
        for src, label, args, metric, pub in OTHER:
            got = predict(args, metric)
            other.append((src, label, metric, pub, got, (got - pub) / pub, False))
        mean = sum(errs) / len(errs)
        worst = max(errs)
        lines = ["## Step time against published training runs", "",
                 "`sizeup train` (step-time model, no `--mfu`) with each run's stated setup; "
                 "generated by `tests/validation/test_step_time.py`. Constants: "
                 "`include/sizeup/perf_model.hpp` (GEMM 0.73 of peak, memory-bound kernels 0.6 "
                 "of HBM, links 0.8, fused attention 0.6), none fitted per run.", "",
                 "| source | run | metric | published | predicted | error |",
                 "| --- | --- | --- | ---: | ---: | ---: |"]
        for src, label, metric, pub, got, err, _ in rows + other:
            lines.append(f"| {src} | {label} | {UNITS[metric]} | {pub:g} | {got:.4g} | "
                         f"{100 * err:+.1f}% |")
        lines += ["", f"Megatron-LM and NeMo runs ({len(errs)}): mean absolute error "
                      f"{100 * mean:.1f}%, worst {100 * worst:.1f}% (goal: 3% mean, 8% worst; "
                      "not reached).", "",
                  "Not described by the model, listed for honesty: torchtitan's eager PyTorch "
                  "(unfused kernels, FSDP2 without compile; its GPUs run at a 500 W limit) is "
                  "predicted about twice as fast as measured; DeepSpeed ZeRO-3 of 2021 "
                  "communicates far below the link rates the model assumes (44 TFLOP/s at "
                  "1,536 GPUs), so its rows are over-predicted by 1.5-5x. The SC'21 and "
                  "Korthikanti 1T runs have the same per-pipeline work and differ by 8.6% in "
                  "measured speed (Megatron-LM 2021 vs 2022), which bounds what one set of "
                  "constants can reach on both."]
        refmodels.write_fragment("step_time", "\n".join(lines) + "\n")
        print("\n".join(lines))
        self.assertLessEqual(mean, MEAN_BOUND)
        self.assertLessEqual(worst, WORST_BOUND)


if __name__ == "__main__":
    unittest.main()
