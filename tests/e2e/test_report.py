"""End-to-end: `sizeup report MODEL` (worked example in Markdown, --json sections, --output)."""
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sizeup_cli import assert_input_error, run, run_json  # noqa: E402

# The seed documents' example model (seeds 000 and 002): V 50,000, d 1,024, f 4,096, 16 heads,
# 24 layers, 1,024 learned positions, no biases, 2 LayerNorms per layer, no final norm, tied.
SEED = ["--layers", "24", "--hidden", "1024", "--heads", "16", "--vocab", "50000", "--ffn", "4096",
        "--max-positions", "1024", "--no-bias", "--no-final-norm"]

SECTIONS = ["model", "workload", "parameters", "weights", "inference",
            "training_memory", "flops", "training_time", "scaling"]


def section(j, key):
    for s in j["sections"]:
        if s["key"] == key:
            return {r["key"]: r for r in s["rows"]}
    raise AssertionError(f"no section {key}: {[s['key'] for s in j['sections']]}")


class ReportTest(unittest.TestCase):
    def test_seed_model_markdown(self):
        code, out, err = run("report", *SEED)
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith("# Sizing up custom"), out[:80])
        for title in ["## Model shape", "## Workload", "## Parameters by component",
                      "## Weight memory", "## FLOPs per token and per step",
                      "## Training time and cost", "## Compute-optimal data (Chinchilla)"]:
            self.assertIn(title, out)
        # Token embedding 50,000 x 1,024 = 51,200,000; positions 1,024^2 = 1,048,576;
        # attention 24 x 4 x 1,024^2 = 100,663,296; MLP 24 x 2 x 1,024 x 4,096 = 201,326,592;
        # norms 24 x 2 x 2 x 1,024 = 98,304; total 354,336,768.
        for figure in ["51,200,000", "1,048,576", "100,663,296", "201,326,592", "98,304",
                       "354,336,768", "1,417,347,072 bytes"]:
            self.assertIn(figure, out)
        self.assertIsNone(re.search(r"\b(nan|inf)\b", out, re.I))

    def test_seed_model_json_values(self):
        j = run_json("report", *SEED)
        self.assertEqual([s["key"] for s in j["sections"]], SECTIONS)
        for s in j["sections"]:
            self.assertTrue(s["title"])
            for r in s["rows"]:
                self.assertEqual(set(r), {"key", "label", "value", "shown", "formula",
                                          "substituted", "source"})
        p = section(j, "parameters")
        self.assertEqual(p["total"]["value"], 354336768)
        self.assertEqual(p["token_embedding"]["value"], 50000 * 1024)
        self.assertEqual(p["position_embedding"]["value"], 1024 * 1024)
        self.assertEqual(p["attention"]["value"], 24 * 4 * 1024 * 1024)
        self.assertEqual(p["mlp"]["value"], 24 * 2 * 1024 * 4096)
        self.assertEqual(p["norm"]["value"], 24 * 2 * 2 * 1024)
        self.assertEqual(p["non_embedding"]["value"], 354336768 - 52248576)
        w = section(j, "weights")
        self.assertEqual(w["fp32_bytes"]["value"], 4 * 354336768)
        self.assertEqual(w["bf16_bytes"]["value"], 2 * 354336768)
        # Defaults: B = 8, T = min(1024 positions, 2048) = 1024, D = 20 N.
        wl = section(j, "workload")
        self.assertEqual(wl["batch"]["value"], 8)
        self.assertEqual(wl["seq_len"]["value"], 1024)
        self.assertEqual(wl["tokens"]["value"], 20 * 354336768)
        inf = section(j, "inference")
        # KV cache: b x s x L x 2 x K x hd x 2 bytes = 8 x 1,024 x 24 x 2 x 16 x 64 x 2.
        self.assertEqual(inf["kv_cache_bytes"]["value"], 805306368)
        self.assertEqual(inf["weights_bytes"]["value"], 2 * 354336768)
        self.assertAlmostEqual(inf["heuristic_1_2x_bytes"]["value"], 1.2 * 2 * 354336768, delta=1)
        self.assertTrue(inf["fits"]["value"])
        f = section(j, "flops")
        # Forward per token: per layer 2 x (4 d^2 + 2 d f) + 2 x 2 x T x d (scores and values)
        # = 2 x (4,194,304 + 8,388,608) + 4 x 1,024 x 1,024 = 29,360,128; x 24 = 704,643,072;
        # plus the head 2 x 50,000 x 1,024 = 102,400,000 -> 807,043,072.
        self.assertEqual(f["forward_per_token"]["value"], 807043072)
        self.assertEqual(f["training_per_token"]["value"], 3 * 807043072)
        self.assertEqual(f["training_per_step"]["value"], 3 * 807043072 * 8 * 1024)
        self.assertEqual(f["approx_training_6n"]["value"], 6 * 354336768)
        t = section(j, "training_time")
        # 6 N D with D = 20 N: 120 x 354,336,768^2; time at 8 x 989.4e12 x 0.4.
        c = 120.0 * 354336768 ** 2
        self.assertAlmostEqual(t["total_flops"]["value"] / c, 1, places=12)
        self.assertAlmostEqual(t["seconds"]["value"], c / (8 * 989.4e12 * 0.4), places=3)
        sc = section(j, "scaling")
        self.assertEqual(sc["rule_tokens"]["value"], 20 * 354336768)
        self.assertAlmostEqual(sc["tokens_per_param"]["value"], 20, places=12)

    def test_seed_model_training_memory_one_gpu(self):
        j = run_json("report", *SEED, "--gpus", "1")
        t = section(j, "training_memory")
        # Mixed bf16 + AdamW: 2 B weights, 4 B fp32 gradients, 4 B master copy per parameter.
        self.assertEqual(t["weights_bytes"]["value"], 2 * 354336768)
        self.assertEqual(t["gradients_bytes"]["value"], 4 * 354336768)
        self.assertEqual(t["master_bytes"]["value"], 4 * 354336768)
        # Adam m and v in fp32 (8 B/param) plus step counters.
        self.assertGreaterEqual(t["optimizer_bytes"]["value"], 8 * 354336768)
        self.assertLess(t["optimizer_bytes"]["value"], 8 * 354336768 + 10000)
        parts = [r["value"] for k, r in t.items() if k.endswith("_bytes") and k != "total_bytes"]
        self.assertEqual(t["total_bytes"]["value"], sum(parts))
        # Seed 002's own estimate, its arithmetic corrected: 2N + 2N + 8N + 24 x 5 x 8 x 1,024
        # x 1,024 x 2 = 4,252,041,216 + 2,013,265,920 = 6,265,307,136 bytes.
        self.assertEqual(t["heuristic_seed_002"]["value"], 6265307136)
        self.assertTrue(t["fits"]["value"])

    def test_llama_3_8b_workload(self):
        j = run_json("report", "llama-3-8b", "--tokens", "15T", "--gpu", "h100-sxm", "--gpus",
                     "1024", "--mfu", "0.5", "--batch", "4", "--seq", "8192")
        self.assertEqual(j["model"], "llama-3-8b")
        p = section(j, "parameters")
        self.assertEqual(p["total"]["value"], 8030261248)
        # Untied head: V x d = 128,256 x 4,096 = 525,336,576 counted as embedding twice.
        self.assertEqual(p["output_head"]["value"], 128256 * 4096)
        self.assertEqual(p["embedding"]["value"], 2 * 128256 * 4096)
        t = section(j, "training_time")
        c = 6 * 8030261248 * 15e12
        self.assertAlmostEqual(t["total_flops"]["value"] / c, 1, places=12)
        self.assertAlmostEqual(t["days"]["value"], c / (1024 * 989.4e12 * 0.5) / 86400, places=6)
        f = section(j, "flops")
        self.assertEqual(f["forward_per_step"]["value"],
                         f["forward_per_token"]["value"] * 4 * 8192)
        # KV cache with 8 kv heads of 128: 4 x 8,192 x 32 x 2 x 8 x 128 x 2 bytes = 4 GiB.
        self.assertEqual(section(j, "inference")["kv_cache_bytes"]["value"], 4 * 2 ** 30)
        m = section(j, "model")
        self.assertEqual(m["n_head_kv"]["value"], 8)
        self.assertEqual(m["n_ff"]["value"], 14336)

    def test_zero3_shards_training_state(self):
        j = run_json("report", "llama-3-8b", "--gpus", "8", "--zero", "3")
        t = section(j, "training_memory")
        # ZeRO-3 over 8 GPUs: 2 B bf16 weights / 8 and 4 B master / 8 per GPU.
        self.assertEqual(t["weights_bytes"]["value"], 2 * 8030261248 // 8)
        self.assertEqual(t["master_bytes"]["value"], 4 * 8030261248 // 8)
        self.assertTrue(t["fits"]["value"])
        j0 = run_json("report", "llama-3-8b", "--gpus", "8")
        self.assertFalse(section(j0, "training_memory")["fits"]["value"])  # 16+ B/param > 80 GiB

    def test_output_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.md")
            code, out, err = run("report", "llama-3-8b", "--output", path)
            self.assertEqual(code, 0, err)
            self.assertIn("wrote", out)
            with open(path) as f:
                text = f.read()
            self.assertIn("8,030,261,248", text)
            self.assertTrue(text.startswith("# Sizing up llama-3-8b"))

    def test_errors(self):
        assert_input_error(self, ["report"], "MODEL")
        assert_input_error(self, ["report", "no-such-model"], "MODEL")
        assert_input_error(self, ["report", "llama-3-8b", "--batch", "0"], "--batch")
        assert_input_error(self, ["report", "llama-3-8b", "--seq", "-5"], "--seq")
        assert_input_error(self, ["report", "llama-3-8b", "--mfu", "1.5"], "--mfu")
        assert_input_error(self, ["report", "llama-3-8b", "--tokens", "abc"], "--tokens")
        assert_input_error(self, ["report", "llama-3-8b", "--gpu", "tpu-v9"], "--gpu")
        assert_input_error(self, ["report", "llama-3-8b", "--precision", "fp12"], "--precision")
        assert_input_error(self, ["report", "llama-3-8b", "--optimizer", "adagrad"], "--optimizer")
        assert_input_error(self, ["report", "llama-3-8b", "--zero", "4"], "--zero")
        assert_input_error(self, ["report", "llama-3-8b", "--output", "/nonexistent/dir/r.md"],
                           "--output")

    def test_huge_inputs_finite(self):
        j = run_json("report", "llama-3.1-405b", "--tokens", "1e15", "--gpus", "100000",
                     "--seq", "131072", "--batch", "1000")
        for s in j["sections"]:
            for r in s["rows"]:
                self.assertNotIn("nan", str(r["value"]).lower())
                self.assertNotIn("inf", str(r["value"]).lower())


if __name__ == "__main__":
    unittest.main()
