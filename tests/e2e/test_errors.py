"""Hostile and edge inputs for every command, table-driven.

Each case is either an input error (exit 2, one stderr line `sizeup: error: <what> (<field>): <why>`
naming the option at fault, the same message as {"error": ...} on stdout with --json) or a
success with finite numbers. Never exit 1, never a crash, never NaN or inf.
"""
import json
import math
import os
import re
import subprocess
import tempfile
import unittest

from sizeup_cli import BIN, assert_input_error, run_json

G = ["--gpu", "h100-sxm"]
M = "llama-2-7b"

# (args, field): must be an input error naming `field`.
ERRORS = [
    # garbage, zero, negative, fractional numbers
    (["flops", M, "--seq", "-1"], "--seq"),
    (["flops", M, "--seq", "1.5"], "--seq"),
    (["flops", M, "--seq", "0"], "--seq"),
    (["flops", M, "--batch", "abc"], "--batch"),
    (["flops", M, "--batch", "0"], "--batch"),
    (["infer", M, "--seq", "-1"], "--seq"),
    (["infer", M, "--context", "0"], "--context"),
    (["infer", M, "--batch", "abc"], "--batch"),
    (["infer", M, "--gpus", "0"], "--gpus"),
    (["infer", M, "--gpus", "1.5"], "--gpus"),
    (["train", M, "--seq", "1.5"], "--seq"),
    (["train", M, "--seq", "1e8"], "--seq"),
    (["train", M, "--batch", "1e9"], "--batch"),
    (["train", M, "--micro-batch", "-3"], "--micro-batch"),
    (["train", M, "--gpus", "0"], "--gpus"),
    (["train", M, "--mfu", "0"], "--mfu"),
    (["train", M, "--mfu", "1.5"], "--mfu"),
    (["train", M, "--dropout", "1.2"], "--dropout"),
    (["train", M, "--dropout", "-0.1"], "--dropout"),
    (["train", M, "--zero", "4"], "--zero"),
    (["train", M, "--overhead", "1e30"], "--overhead"),
    (["train", M, "--tokens", "0"], "--tokens"),
    (["train", M, "--mfu", "1e-300"], "--mfu"),  # the same [1e-6, 1] as time
    (["infer", M, "--gpu", "custom", "--peak-tflops", "1e300", "--gpu-memory", "80GB",
      "--bandwidth", "3.35TB"], "--peak-tflops"),  # 1e312 FLOP/s is inf
    (["infer", M, "--gpu", "custom", "--peak-tflops", "100", "--gpu-memory", "80GB",
      "--bandwidth", "1e-300"], "--bandwidth"),  # bytes / bandwidth is inf
    (["infer", M, "--gpu-utilization", "1.5"], "--gpu-utilization"),  # checked without --gpu
    (["infer", M, "--gpu-utilization", "0"], "--gpu-utilization"),
    (["time", "--params", "0", "--tokens", "1e12", *G], "--params"),
    (["time", "--params", "7e9", "--tokens", "0", *G], "--tokens"),
    (["time", "--params", "7e9", "--tokens", "1e12", "--gpus", "1e8", *G], "--gpus"),
    (["time", "--params", "7e9", "--tokens", "1e12", "--mfu", "1.5", *G], "--mfu"),
    (["time", "--params", "7e9", "--tokens", "1e12", "--pue", "0.5", *G], "--pue"),
    (["mfu", "--params", "7e9", "--tokens-per-second", "0", *G], "--tokens-per-second"),
    (["mfu", "--params", "7e9", "--tokens-per-second", "1e30", *G], "--tokens-per-second"),
    # a rate from a step time that is impossible is blamed on --step-seconds
    (["mfu", "--params", "7e9", "--step-seconds", "1e-9", "--global-batch", "8", "--seq", "2048",
      *G], "--step-seconds"),
    # results beyond doubles name the option behind them, not a JSON key
    (["time", "--params", "1e300", "--tokens", "1e300", *G], "--params"),
    (["time", "--params", "1e13", "--tokens", "1e15", "--price-per-gpu-hour", "1e300", *G],
     "--price-per-gpu-hour"),
    (["time", "--params", "1e13", "--tokens", "1e15", "--grid-intensity", "1e300", *G],
     "--grid-intensity"),
    (["chinchilla", "--compute", "1e300", "--inference-tokens", "1e300"], "--inference-tokens"),
    (["chinchilla", "--compute", "0"], "--compute"),
    (["chinchilla", "--compute", "1e309"], "--compute"),
    (["fit", "--gpus", "0"], "--gpus"),
    # unknown names
    (["infer", M, "--gpu", "foo"], "--gpu"),
    (["infer", M, "--dtype", "foo"], "--dtype"),
    (["infer", M, "--kv-dtype", "foo"], "--kv-dtype"),
    (["train", M, "--precision", "foo"], "--precision"),
    (["train", M, "--optimizer", "foo"], "--optimizer"),
    (["train", M, "--fsdp", "foo"], "--fsdp"),
    (["params", "no-such-model"], "MODEL"),
    (["bogus"], "bogus"),
    ([], "COMMAND"),
    # options a command does not take, repeated options, stray arguments
    (["params", M, "--seq", "-1"], "--seq"),
    (["flops", M, "--gpus", "8"], "--gpus"),
    (["infer", M, "--foo"], "--foo"),
    (["params", M, "gpt2"], "gpt2"),
    (["mfu", M, "--tokens-per-second", "1", "--tokens-per-second", "2", *G],
     "--tokens-per-second"),
    # contradictory options
    (["train", M, "--gpus", "8", "--zero", "3", "--fsdp", "full"], "--fsdp"),
    (["fit", "--gpus", "8", "--zero", "3", "--fsdp", "grad-op"], "--fsdp"),
    (["train", M, "--gpus", "6", "--tp", "6"], "--tp"),  # 6 does not divide 32 heads
    (["train", M, "--gpus", "10", "--pp", "5"], "--pp"),  # 5 does not divide 32 layers
    (["train", "mixtral-8x7b-v0.1", "--gpus", "12", "--ep", "3"], "--ep"),  # 8 experts
    (["train", M, "--gpus", "8", "--ep", "2"], "--ep"),  # dense model
    (["train", M, "--gpus", "8", "--dp", "2", "--tp", "2"], "--gpus"),  # 2*2 != 8
    (["train", M, "--gpus", "8", "--cp", "8", "--seq", "100"], "--cp"),
    (["train", M, "--gpus", "8", "--global-batch", "3"], "--global-batch"),
    (["train", M, "--finetune", "full", "--lora-rank", "8"], "--lora-rank"),
    (["infer", M, "--tp", "3"], "--tp"),
    (["activations", "gpt2", "--tp", "5"], "--tp"),  # 12 heads over 5 ranks
    (["flops", "gpt2", "--seq", "1025"], "--seq"),  # beyond 1,024 learned positions
    (["train", M, "--gpus", "12", "--fsdp", "hybrid", "--gpus-per-node", "8"], "--gpus-per-node"),
    (["train", M, "--finetune", "lora", "--lora-targets", ","], "--lora-targets"),
    (["infer", "gpt2", "--context", "4096"], "--context"),
    (["infer", M, "--gpus", "8", "--tp", "3"], "--gpus"),
    (["mfu", M, "--tokens-per-second", "1", "--step-seconds", "1", *G], "--step-seconds"),
    (["chinchilla", "--compute", "1e23", "--params", "7e9"], "--compute"),
    (["params", M, "--layers", "4"], "MODEL"),
    (["params", "--layers", "2", "--hidden", "64", "--heads", "4", "--vocab", "9", "--bias",
      "--no-bias"], "--bias"),
    (["params", "--layers", "2", "--hidden", "64", "--heads", "3", "--vocab", "9"], "--heads"),
    (["params", "--layers", "2", "--hidden", "64", "--heads", "4", "--kv-heads", "3", "--vocab",
      "9"], "--kv-heads"),
    (["params", "--layers", "2", "--hidden", "64", "--heads", "4", "--vocab", "9", "--experts",
      "4", "--experts-per-token", "5"], "--experts-per-token"),
]

# Must succeed with finite numbers (huge but legal inputs).
OK = [
    ["flops", M, "--seq", "1e7", "--batch", "1e9"],
    ["flops", "deepseek-v3", "--seq", "1e7", "--batch", "1e7"],
    ["infer", M, "--gpus", "1e5", "--tp", "8"],
    ["train", M, "--seq", "1e7"],
    ["train", M, "--gpus", "1e5"],
    ["train", M, "--gpus", "1e5", "--tp", "8", "--pp", "4", "--tokens", "1e15"],
    ["time", "--params", "1e13", "--tokens", "1e15", "--gpus", "1e5", *G],
    ["time", "--params", "1e30", "--tokens", "1e30", *G],
    ["mfu", "--params", "1e13", "--tokens-per-second", "1e6", "--gpus", "1e5", *G],
    ["mfu", "--params", "7e9", "--step-seconds", "1", "--global-batch", "8", "--seq", "2048",
     "--gpus", "8", *G],
    ["chinchilla", "--compute", "1e27"],
    ["chinchilla", "--compute", "1e40"],
    ["chinchilla", "--tokens", "1e15"],
    ["chinchilla", "--params", "1e13"],
    ["fit", "--gpus", "1e5"],
    ["fit", "--params", "1e13", "--gpus", "1e5", "--mode", "infer"],
    ["fit", "--gpus", "8", "--tp", "3", "--seq", "1e7"],  # no MODEL: noted as unused
    ["params", "--layers", "100", "--hidden", "1e6", "--heads", "4", "--vocab", "1e9"],
]

LLAMA = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
         "intermediate_size": 11008, "num_attention_heads": 32, "num_hidden_layers": 32,
         "num_key_value_heads": 32, "vocab_size": 32000, "max_position_embeddings": 4096,
         "rms_norm_eps": 1e-5, "tie_word_embeddings": False}


def variant(**changes):
    d = dict(LLAMA)
    for k, v in changes.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return json.dumps(d)


MIXTRAL = dict(model_type="mixtral", architectures=["MixtralForCausalLM"], num_local_experts=8)

# (file text, field): a malformed config.json must be an input error naming the config key.
CONFIGS = [
    (json.dumps(LLAMA)[:60], "config.json"),  # truncated
    ("", "config.json"),
    ("[]", "config.json"),
    ("{}", "model_type"),
    (variant(model_type="foo", architectures=["FooForCausalLM"]), "model_type"),
    # An omitted key takes the class default (LlamaConfig: 4096); an explicit null has none.
    (json.dumps(dict(LLAMA, hidden_size=None)), "hidden_size"),
    (variant(hidden_size="big"), "hidden_size"),
    (variant(hidden_size=4096.5), "hidden_size"),
    (variant(hidden_size=-4096), "hidden_size"),
    (variant(hidden_size=0), "hidden_size"),
    (variant(hidden_size=1e30), "hidden_size"),
    (variant(hidden_size=4100), "num_attention_heads"),  # 32 heads do not divide 4100
    (variant(num_key_value_heads=5), "num_key_value_heads"),
    (variant(num_key_value_heads=64), "num_key_value_heads"),
    (variant(num_hidden_layers=True), "num_hidden_layers"),
    (variant(num_hidden_layers=10**9), "num_hidden_layers"),
    (variant(vocab_size=[1]), "vocab_size"),
    (variant(vocab_size=0), "vocab_size"),
    (variant(head_dim=0), "head_dim"),
    (variant(**MIXTRAL, num_experts_per_tok=10), "num_experts_per_tok"),
]


def no_nonfinite(test, args, out):
    doc = json.loads(out, parse_constant=lambda c: test.fail(f"{args}: {c} in JSON"))

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]")
        elif isinstance(v, float):
            test.assertTrue(math.isfinite(v), f"{args}: {path} = {v}")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and path.endswith("bytes"):
            test.assertGreaterEqual(v, 0, f"{args}: {path}")
    walk(doc, "")
    return doc


class Errors(unittest.TestCase):
    def test_input_errors_name_the_field(self):
        for args, field in ERRORS:
            with self.subTest(args=args):
                assert_input_error(self, args, field)
                res = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
                self.assertEqual(res.returncode, 2, args)  # the same without --json
                self.assertEqual(res.stdout, "", args)

    def test_huge_inputs_give_finite_numbers(self):
        for args in OK:
            with self.subTest(args=args):
                res = subprocess.run([BIN, *args, "--json"], capture_output=True, text=True,
                                     timeout=30)
                self.assertEqual(res.returncode, 0, f"{args}: {res.stderr}")
                no_nonfinite(self, args, res.stdout)
                # nor in the derivation text ("inference" and "info" are fine)
                self.assertIsNone(re.search(r"\b(nan|inf|infinity)\b", res.stdout.lower()),
                                  args)

    def test_malformed_configs(self):
        with tempfile.TemporaryDirectory() as d:
            for i, (text, field) in enumerate(CONFIGS):
                path = os.path.join(d, f"c{i}.json")
                with open(path, "w") as f:
                    f.write(text)
                for cmd in ("params", "infer", "train"):
                    with self.subTest(config=text[:80], cmd=cmd):
                        assert_input_error(self, [cmd, path], field)
            # a directory without config.json is not a model
            assert_input_error(self, ["params", d], "MODEL")
            # config.json that is a directory, and an endless device: errors, not a hang
            os.mkdir(os.path.join(d, "sub"))
            os.mkdir(os.path.join(d, "sub", "config.json"))
            assert_input_error(self, ["params", os.path.join(d, "sub")], "MODEL")
        assert_input_error(self, ["params", "/dev/zero"], "MODEL")

    def test_fit_fsdp_is_its_zero_stage(self):
        # FSDP grad-op shards gradients and optimizer states = ZeRO 2 (was counted as ZeRO 3).
        def run(*a):
            return json.loads(subprocess.run([BIN, "fit", "--gpus", "8", *a, "--json"],
                                             capture_output=True, text=True).stdout)
        grad_op, zero2 = run("--fsdp", "grad-op"), run("--zero", "2")
        self.assertEqual(grad_op["zero"], 2)
        self.assertEqual(grad_op["max_params"], zero2["max_params"])
        # ZeRO 2, mixed-bf16 AdamW, fp32 grads: 2 + (4 + 4 + 8) / 8 = 4 bytes per parameter of
        # 80 GiB -> 85,899,345,920 / 4 = 21,474,836,480 parameters.
        self.assertEqual(grad_op["max_params"], 85899345920 // 4)

    def test_fit_max_params_exact_on_large_clusters(self):
        # bf16 serving, 2 bytes/param: 1e5 x 85,899,345,920 / 2 = 4,294,967,296,000,000 exactly
        # (was one short: 2/G is not a binary fraction).
        res = subprocess.run([BIN, "fit", "--params", "1e13", "--gpus", "1e5", "--mode", "infer",
                              "--json"], capture_output=True, text=True)
        d = json.loads(res.stdout)
        self.assertEqual(d["max_params"], 100000 * 85899345920 // 2)
        self.assertEqual(d["readings"][1]["max_params"], 100000 * 80 * 10**9 // 2)

    def test_activations_default_seq_fits_the_model(self):
        # GPT-2 has 1024 learned positions: the default sequence is min(2048, 1024) as in train.
        res = subprocess.run([BIN, "activations", "gpt2", "--json"], capture_output=True,
                             text=True)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(json.loads(res.stdout)["input"]["seq_len"], 1024)

    def test_mfu_step_seconds_with_params(self):
        # 6N tokens/s: 6 * 7e9 * (8 * 2048 / 1 s) / (8 * 989.4e12) (no attention term without
        # the shape flags).
        res = subprocess.run([BIN, "mfu", "--params", "7e9", "--step-seconds", "1",
                              "--global-batch", "8", "--seq", "2048", "--gpus", "8", *G,
                              "--json"], capture_output=True, text=True)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertAlmostEqual(json.loads(res.stdout)["mfu"],
                               6 * 7e9 * 8 * 2048 / (8 * 989.4e12), places=12)

    def test_infer_bytes_beyond_2_53_are_refused(self):
        # Llama-2-7B KV cache: 2 (K, V) * 32 layers * 4096 * 2 bytes = 524,288 bytes per token.
        # 1e10 tokens -> 5.24288e15 bytes, below 2^53: exact, and the total is the sum of rows.
        j = run_json("infer", M, "--context", "1e10")
        self.assertEqual(j["memory"]["kv_cache_bytes"], 524288 * 10**10)
        rows = ["weights_bytes", "kv_cache_bytes", "workspace_bytes", "overhead_bytes"]
        self.assertEqual(sum(j["memory"][k] for k in rows), j["memory"]["total_bytes"])
        # 2e13 tokens -> 1.05e19 bytes, beyond 2^53 where doubles stop being exact: refused,
        # naming the larger of the two factors.
        for args, field in [(["--context", "2e13"], "--context"),
                            (["--batch", "1e9", "--seq", "1e7"], "--batch"),
                            (["--batch", "1e12", "--context", "4096"], "--batch")]:
            assert_input_error(self, ["infer", M, *args], field)

    def test_every_command_explains(self):
        cmds = [["models"], ["params", M], ["dtypes"], ["gpus"], ["gpus", "h100-sxm"],
                ["time", "--params", "7e9", "--tokens", "1e12", *G],
                ["mfu", "--params", "7e9", "--tokens-per-second", "1000", *G],
                ["chinchilla", "--compute", "1e23"], ["flops", M], ["infer", M], ["train", M],
                ["fit", "--gpus", "8"]]
        for args in cmds:
            with self.subTest(args=args):
                res = subprocess.run([BIN, *args, "--explain"], capture_output=True, text=True)
                self.assertEqual(res.returncode, 0, res.stderr)
                plain = subprocess.run([BIN, *args], capture_output=True, text=True).stdout
                self.assertTrue(res.stdout.startswith(plain), args)
                ex = res.stdout[len(plain):]
                self.assertIn("## ", ex, args)  # Markdown section
                self.assertIn("source", ex.lower(), args)


if __name__ == "__main__":
    unittest.main()
