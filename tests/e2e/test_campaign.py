"""A seeded campaign of random valid and hostile invocations of every command.

Each run must exit 0 (an answer) or 2 (a one-line error naming the input), without a signal,
within 2 s of CPU time, with valid JSON under --json, no NaN or infinity anywhere in the
output, and memory totals equal to the sum of their rows. SIZEUP_CAMPAIGN_SECONDS bounds the
wall time (default 45 s); SIZEUP_CAMPAIGN_SEED picks the sequence (default 2026).
"""
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sizeup_cli import BIN  # noqa: E402

SEED = int(os.environ.get("SIZEUP_CAMPAIGN_SEED", "2026"))
BUDGET_S = float(os.environ.get("SIZEUP_CAMPAIGN_SECONDS", "45"))
CPU_SCALE = float(os.environ.get("SIZEUP_CPU_SCALE", "1"))  # sanitizers: x10
MAX_CPU_S = 2.0 * CPU_SCALE

MODELS = ["llama-3-8b", "llama-2-70b", "mixtral-8x7b-v0.1", "deepseek-v2-lite", "gemma-2-9b",
          "qwen3-30b-a3b", "t5-small", "bert-base-uncased", "gpt2", "mistral-7b-v0.1",
          "qwen1.5-moe-a2.7b", "llama-3.1-405b", "phi-2", "falcon-7b"]
GPUS = ["h100-sxm", "a100-80gb", "a100-40gb", "rtx-4090", "tpu-v5e", "mi300x", "l4", "b200",
        "h100", "4090", "custom"]
HOSTILE = ["0", "-1", "1e308", "-1e308", "nan", "inf", "", " ", "abc", "\xff\xfe", "1.5",
           "99999999999999999999", "0x10", "1e-300", "3 ", "1e19", "9.3e18", "2^10", "1,000",
           "a\nb", "--explain", "NaN", "1e9", "1T", "1P"]
COUNTS = ["1", "2", "4", "8", "16", "64", "1k", "1e6", "1e7", "1024"]
FRACTIONS = ["0.1", "0.4", "0.5", "0.9", "1", "1.2"]

# Options per command: (option, valid values). Hostile values are drawn for any of them.
COMMANDS = {
    "params": [],
    "flops": [("--seq", COUNTS), ("--batch", COUNTS)],
    "activations": [("--seq", COUNTS), ("--batch", COUNTS), ("--tp", ["1", "2", "8"]),
                    ("--recompute", ["none", "selective", "full"])],
    "infer": [("--gpu", GPUS), ("--gpus", COUNTS), ("--batch", COUNTS), ("--context", COUNTS),
              ("--dtype", ["bf16", "fp8", "int8", "int4", "fp32"]),
              ("--kv-dtype", ["bf16", "fp8", "int8"]), ("--tp", ["1", "2", "4", "8", "16"])],
    "train": [("--gpu", GPUS), ("--gpus", COUNTS), ("--tp", ["1", "2", "4", "8", "16"]),
              ("--pp", ["1", "2", "4"]), ("--zero", ["0", "1", "2", "3"]),
              ("--micro-batch", COUNTS), ("--seq", COUNTS),
              ("--precision", ["bf16", "fp32", "fp16", "fp8"]),
              ("--recompute", ["none", "selective", "full"]),
              ("--finetune", ["full", "lora", "qlora"])],
    "fit": [("--gpu", GPUS), ("--gpus", COUNTS), ("--precision", ["bf16", "fp32"])],
    "time": [("--params", ["7B", "70B", "1e12"]), ("--tokens", ["1T", "15T", "300B"]),
             ("--gpu", GPUS), ("--gpus", COUNTS), ("--mfu", FRACTIONS)],
    "mfu": [("--gpu", GPUS), ("--gpus", COUNTS), ("--tokens-per-second", ["1000", "25000"])],
    "chinchilla": [("--compute", ["1e21", "1e24", "5.76e23"])],
    "report": [("--gpu", GPUS), ("--gpus", COUNTS), ("--zero", ["0", "1", "3"])],
    "models": [],
    "gpus": [],
    "dtypes": [],
}
TAKES_MODEL = {"params", "flops", "activations", "infer", "train", "report", "mfu"}
NEEDS_PEAK = {"--gpu": "custom"}

# Memory totals that must equal the sum of their rows (docs/cli-contract.md).
TRAIN_ROWS = ["weights_bytes", "fp8_weight_cache_bytes", "gradients_bytes", "master_bytes",
              "optimizer_bytes", "activations_bytes", "logits_bytes", "communication_bytes",
              "overhead_bytes", "backward_peak_bytes", "autocast_weight_cache_bytes",
              "tower_activations_bytes"]
NAN_TEXT = re.compile(r"(?<![A-Za-z])(nan|inf|infinity)(?![A-Za-z])", re.IGNORECASE)


def reject_constant(name):
    raise ValueError(f"JSON holds {name}")


def invocation(rng):
    command = rng.choice(list(COMMANDS))
    args = [command]
    if command in TAKES_MODEL:
        args.append(rng.choice(MODELS + ["no-such-model", "\xff", "llama-3-8"]))
    for option, valid in COMMANDS[command]:
        roll = rng.random()
        if roll < 0.45:
            args += [option, rng.choice(valid)]
        elif roll < 0.6:
            args += [option, rng.choice(HOSTILE)]
    if "custom" in args and rng.random() < 0.7:
        args += ["--peak-tflops", rng.choice(["100", "989", "0", "1e12"])]
        if rng.random() < 0.5:
            args += ["--gpu-memory", rng.choice(["80GiB", "24GB", "0", "1e30"])]
    if rng.random() < 0.8:  # before the options, where no option can take it as its value
        args.insert(1, "--json")
    return args


def check_totals(test, args, j):
    memory = j.get("memory") if isinstance(j, dict) else None
    if args[0] == "train" and isinstance(memory, dict) and "total_bytes" in memory:
        test.assertEqual(sum(memory[k] for k in TRAIN_ROWS if k in memory), memory["total_bytes"],
                         args)
    if args[0] == "infer" and isinstance(memory, dict) and "total_bytes" in memory:
        rows = ["weights_bytes", "kv_cache_bytes", "workspace_bytes", "overhead_bytes"]
        test.assertEqual(sum(memory[k] for k in rows), memory["total_bytes"], args)


class Campaign(unittest.TestCase):
    def test_random_invocations(self):
        rng = random.Random(SEED)
        start, runs, answered, failures = time.monotonic(), 0, 0, []
        while time.monotonic() - start < BUDGET_S and runs < 3000:
            args = invocation(rng)
            runs += 1
            try:
                answered += self.one(args)
            except AssertionError as e:
                failures.append(f"{e}"[:500])
        self.assertEqual(failures[:10], [], f"{len(failures)} of {runs} runs failed")
        # The campaign is only meaningful if it both answers and refuses often.
        self.assertGreater(runs, 200 / CPU_SCALE ** 0.5)  # sanitized runs are slower
        self.assertGreater(answered, runs // 10)

    def one(self, args):
        """Runs one invocation and checks it; 1 if it answered with JSON."""
        where = f"sizeup {' '.join(map(repr, args))}"
        try:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = subprocess.run([BIN, *args], capture_output=True, timeout=60)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            self.assertIn(res.returncode, (0, 2), f"{where}: exit {res.returncode}: "
                          f"{res.stderr[-300:]!r}")
            self.assertLess(cpu, MAX_CPU_S, f"{where}: {cpu:.2f} s of CPU")
            out = res.stdout.decode("utf-8")  # raises on invalid UTF-8
            err = res.stderr.decode("utf-8")
            if res.returncode == 2:
                self.assertEqual(len(err.strip().splitlines()), 1, f"{where}: {err!r}")
                self.assertTrue(err.startswith("sizeup: error: "), f"{where}: {err!r}")
            if "--json" not in args:
                self.assertIsNone(NAN_TEXT.search(out), f"{where}: {out[:400]}")
                return 0
            if ("custom" in args and "--gpu-memory" not in args
                    and args[0] in ("train", "fit", "infer", "plan")):
                self.assertEqual(res.returncode, 2, f"{where}: a fit without GPU memory")
            j = json.loads(out, parse_constant=reject_constant)
            if res.returncode != 0:
                self.assertIn("error", j, where)
                return 0
            check_totals(self, args, j)
            return 1
        except (AssertionError, ValueError, UnicodeDecodeError) as e:
            raise AssertionError(f"{where}: {e}") from None


if __name__ == "__main__":
    unittest.main()
