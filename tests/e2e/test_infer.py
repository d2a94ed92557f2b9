"""End-to-end: `sizeup infer` (weights, KV cache, workspace, overhead, fit, roofline).

Expected values are derived by hand from the published configs in the comments.
"""
import json
import math
import sys
import unittest

sys.path.insert(0, __import__("os").path.dirname(__file__))
from sizeup_cli import assert_input_error, run, run_json  # noqa: E402

GIB = 2**30


class InferTest(unittest.TestCase):
    def test_contract_keys(self):
        j = run_json("infer", "llama-2-7b", "--context", "4096", "--gpu", "a100-80gb")
        mem = j["memory"]
        for k in ("weights_bytes", "kv_cache_bytes", "workspace_bytes", "overhead_bytes",
                  "total_bytes", "heuristic_1_2x_bytes"):
            self.assertIsInstance(mem[k], int, k)
        self.assertIsInstance(j["fits"], bool)
        for k in ("max_batch", "max_context", "roofline"):
            self.assertIn(k, j)
        self.assertEqual(mem["total_bytes"], mem["weights_bytes"] + mem["kv_cache_bytes"] +
                         mem["workspace_bytes"] + mem["overhead_bytes"])
        # 6,738,415,616 params x 2 bytes; KV 4096 x 2*32*32*128*2; overhead 1 GiB default.
        self.assertEqual(mem["weights_bytes"], 6738415616 * 2)
        self.assertEqual(mem["kv_cache_bytes"], 4096 * 524288)
        self.assertEqual(mem["overhead_bytes"], GIB)
        self.assertEqual(mem["heuristic_1_2x_bytes"], math.ceil(1.2 * 6738415616 * 2))
        self.assertTrue(j["roofline"]["lower_bound"])
        self.assertEqual(j["roofline"]["decode_bound"], "memory")

    def test_fits_true_and_false_on_real_gpus(self):
        # Llama-2-70B bf16 is 2 x 68.98e9 bytes: fits on 2 x A100-80GB (tp 2, ~64.2 GiB per
        # GPU of weights) but not on one, and not on an RTX 4090 (24 GiB).
        two = run_json("infer", "llama-2-70b", "--gpu", "a100-80gb", "--gpus", "2",
                       "--context", "4096")
        self.assertTrue(two["fits"])
        self.assertEqual(two["tp"], 2)
        self.assertGreaterEqual(two["max_batch"], 1)
        one = run_json("infer", "llama-2-70b", "--gpu", "a100-80gb", "--context", "4096")
        self.assertFalse(one["fits"])
        self.assertEqual(one["max_batch"], 0)
        # Llama-3-8B int4 on a 4090: fits; bf16 (16 GB of weights) plus 8k context fits too,
        # but a batch of 64 at 8k (64 x 1 GiB of KV) does not.
        q = run_json("infer", "llama-3-8b", "--dtype", "int4", "--gpu", "rtx-4090",
                     "--context", "8192")
        self.assertTrue(q["fits"])
        self.assertLess(q["memory"]["weights_bytes"], 6e9)
        big = run_json("infer", "llama-3-8b", "--gpu", "rtx-4090", "--context", "8192",
                       "--batch", "64")
        self.assertFalse(big["fits"])
        self.assertEqual(big["memory"]["kv_cache_bytes"], 64 * 8192 * 131072)

    def test_max_batch_consistent_with_fits(self):
        base = ["infer", "llama-3-8b", "--gpu", "h100-sxm", "--context", "8192"]
        j = run_json(*base)
        b = j["max_batch"]
        self.assertGreater(b, 1)
        self.assertTrue(run_json(*base, "--batch", str(b))["fits"])
        self.assertFalse(run_json(*base, "--batch", str(b + 1))["fits"])

    def test_tp_and_kv_dtype(self):
        # Llama-2-70B KV per GPU per token at tp 8: 2*80*(8/8)*128*2 = 40,960; fp8 halves it.
        j = run_json("infer", "llama-2-70b", "--tp", "8", "--context", "1")
        self.assertEqual(j["memory"]["kv_cache_bytes"], 40960)
        j = run_json("infer", "llama-2-70b", "--tp", "8", "--context", "1", "--kv-dtype", "fp8")
        self.assertEqual(j["memory"]["kv_cache_bytes"], 20480)

    def test_overhead_option(self):
        j = run_json("infer", "gpt2", "--context", "1", "--overhead", "2GiB")
        self.assertEqual(j["memory"]["overhead_bytes"], 2 * GIB)
        j = run_json("infer", "gpt2", "--context", "1", "--overhead", "1.5GB")
        self.assertEqual(j["memory"]["overhead_bytes"], 1500000000)

    def test_sliding_window_flag(self):
        # Hypothetical model, every layer slides over 16 tokens: 2 layers, 4 heads of 16,
        # fp16 cache: 2*2*4*16*2 = 512 bytes per token, min(16, 100) tokens held.
        j = run_json("infer", "--layers", "2", "--hidden", "64", "--heads", "4", "--vocab", "97",
                     "--sliding-window", "16", "--context", "100", "--kv-dtype", "fp16")
        self.assertEqual(j["memory"]["kv_cache_bytes"], 16 * 512)

    def test_huge_batch(self):
        # 1e5 sequences of 4096 tokens at 512 KiB per token: 2.1e14 bytes, exact and answered.
        code, out, err = run("infer", "llama-2-7b", "--batch", "1e5", "--context", "4096",
                             "--gpu", "a100-80gb", "--json")
        self.assertEqual(code, 0, err)
        self.assertNotIn("nan", out.lower())
        self.assertNotIn("inf", out.lower().replace("infer", ""))
        j = json.loads(out)
        self.assertFalse(j["fits"])
        self.assertEqual(j["memory"]["kv_cache_bytes"], 10 ** 5 * 4096 * 524288)
        # 1e9 sequences: 2.1e18 bytes per GPU, beyond 2^53 where byte sums stay exact: refused.
        assert_input_error(self, ["infer", "llama-2-7b", "--batch", "1e9", "--context", "4096",
                                  "--gpu", "a100-80gb"], "--batch")

    def test_explain_is_markdown(self):
        code, out, err = run("infer", "llama-3-8b", "--context", "8192", "--explain")
        self.assertEqual(code, 0, err)
        self.assertIn("### Inference memory per GPU", out)
        self.assertIn("Pope et al. 2022", out)
        self.assertIn("1.2", out)

    def test_errors(self):
        assert_input_error(self, ["infer", "llama-2-70b", "--tp", "3"], "--tp")
        assert_input_error(self, ["infer", "llama-2-7b", "--context", "0"], "--context")
        assert_input_error(self, ["infer", "llama-2-7b", "--dtype", "int3"], "--dtype")
        assert_input_error(self, ["infer", "llama-2-7b", "--kv-dtype", "int2"], "--kv-dtype")
        assert_input_error(self, ["infer", "llama-2-7b", "--group-size", "0"], "--group-size")
        assert_input_error(self, ["infer", "llama-2-7b", "--gpus", "3", "--tp", "2"], "--gpus")
        assert_input_error(self, ["infer", "llama-2-7b", "--batch", "-1"], "--batch")
        # --tp defaults to --gpus: 3 GPUs cannot split 32 heads, and the error names --gpus.
        assert_input_error(self, ["infer", "llama-2-7b", "--gpus", "3"], "--gpus")
        assert_input_error(self, ["infer", "llama-2-7b", "--gpu", "nope"], "--gpu")
        assert_input_error(self, ["infer", "llama-2-7b", "--overhead", "lots"], "--overhead")
        assert_input_error(self, ["infer", "deepseek-v2-lite", "--mla-cache", "x"], "--mla-cache")


if __name__ == "__main__":
    unittest.main()
