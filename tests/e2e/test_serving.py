"""End-to-end: `sizeup infer` serving predictions (--prompt/--gen, --engine, --rate) and the
--gpu-utilization headroom. Identities are checked exactly; values by their definitions."""
import math
import sys
import unittest

sys.path.insert(0, __import__("os").path.dirname(__file__))
from sizeup_cli import assert_input_error, run_json  # noqa: E402


class ServingTest(unittest.TestCase):
    def test_static_batch_keys_and_definitions(self):
        j = run_json("infer", "llama-3-8b", "--gpu", "h100-sxm", "--batch", "8", "--prompt", "512",
                     "--gen", "128", "--context", "640")
        s = j["serving"]
        for k in ("ttft_seconds", "tpot_seconds", "e2e_seconds",
                  "output_tokens_per_second_per_gpu", "total_tokens_per_second_per_gpu"):
            self.assertGreater(s[k], 0, k)
        # e2e = ttft + (G - 1) tpot; throughput = b G / e2e / gpus (one GPU).
        self.assertAlmostEqual(s["e2e_seconds"], s["ttft_seconds"] + 127 * s["tpot_seconds"],
                               places=12)
        self.assertAlmostEqual(s["output_tokens_per_second_per_gpu"], 8 * 128 / s["e2e_seconds"],
                               places=6)
        self.assertAlmostEqual(s["total_tokens_per_second_per_gpu"], 8 * 640 / s["e2e_seconds"],
                               places=6)
        # Batch-1-like decode of 16 GB of weights on 3.35 TB/s: a few milliseconds per token.
        self.assertTrue(0.004 < s["tpot_seconds"] < 0.02, s["tpot_seconds"])
        # At 512 tokens of context a sequence's KV reads (512 x 128 KiB) take longer than its
        # FLOPs (2 x 8e9 at 0.75 x 989 TFLOP/s): decode never turns compute-bound (null).
        self.assertIsNone(s["compute_bound_batch"])
        short = run_json("infer", "llama-3-8b", "--gpu", "h100-sxm", "--prompt", "16", "--gen",
                         "2", "--context", "18")["serving"]
        self.assertGreater(short["compute_bound_batch"], 100)
        self.assertIsNone(j["engine"])
        self.assertIsNone(j["load"])

    def test_tensor_parallel_throughput_is_per_gpu(self):
        one = run_json("infer", "llama-3-8b", "--gpu", "h100-sxm", "--batch", "32", "--prompt",
                       "256", "--gen", "64", "--context", "320")["serving"]
        two = run_json("infer", "llama-3-8b", "--gpu", "h100-sxm", "--gpus", "2", "--batch",
                       "32", "--prompt", "256", "--gen", "64", "--context", "320")["serving"]
        self.assertLess(two["tpot_seconds"], one["tpot_seconds"])  # faster per token...
        # ...but not twice as fast (all-reduces, replicated work): less per GPU.
        self.assertLess(two["output_tokens_per_second_per_gpu"],
                        one["output_tokens_per_second_per_gpu"])

    def test_engine_kv_capacity(self):
        j = run_json("infer", "llama-3.1-8b", "--gpu", "h100-sxm", "--engine", "vllm",
                     "--gpu-utilization", "0.9", "--context", "16000", "--prompt", "100")
        e = j["engine"]
        self.assertEqual(e["name"], "vllm")
        self.assertEqual(e["block_size"], 16)
        self.assertEqual(e["kv_cache_tokens"], e["num_blocks"] * 16)
        self.assertAlmostEqual(e["max_concurrency"], e["num_blocks"] / math.ceil(16000 / 16))
        # vLLM logged 51.38 GiB for this setup (llm-d-benchmark); within 1%.
        self.assertLess(abs(e["kv_cache_bytes"] / 2**30 / 51.38 - 1), 0.01)
        for engine, block in (("sglang", 1), ("trtllm", 32)):
            k = run_json("infer", "llama-3.1-8b", "--gpu", "h100-sxm", "--engine", engine,
                         "--context", "8192", "--prompt", "100")["engine"]
            self.assertEqual(k["block_size"], block)
            self.assertGreater(k["kv_cache_tokens"], 0)

    def test_load_simulation(self):
        j = run_json("infer", "llama-3.1-8b", "--gpu", "h100-sxm", "--rate", "5", "--requests",
                     "2000", "--prompt", "512", "--gen", "128", "--context", "4096")
        ld = j["load"]
        for k in ("ttft_seconds", "tpot_seconds", "e2e_seconds"):
            self.assertLessEqual(ld[k]["p50"], ld[k]["p90"])
            self.assertLessEqual(ld[k]["p90"], ld[k]["p99"])
        # Below capacity every request is served: throughput = rate x G.
        self.assertLess(abs(ld["output_tokens_per_second"] / (5 * 128) - 1), 0.1)
        self.assertEqual(ld["goodput_requests_per_second"], ld["requests_per_second"])
        self.assertIsNotNone(j["engine"])  # the pool the simulation used

    def test_gpu_utilization_is_the_headroom(self):
        # --gpu-utilization's headroom holds the CUDA context: sizeup's 1 GiB is not added too.
        a = run_json("infer", "llama-3-8b", "--gpu", "h100-sxm", "--gpu-utilization", "0.9")
        self.assertEqual(a["memory"]["overhead_bytes"], 0)
        b = run_json("infer", "llama-3-8b", "--gpu", "h100-sxm")
        self.assertEqual(b["memory"]["overhead_bytes"], 2**30)
        c = run_json("infer", "llama-3-8b", "--gpu", "h100-sxm", "--gpu-utilization", "0.9",
                     "--overhead", "2GiB")
        self.assertEqual(c["memory"]["overhead_bytes"], 2 * 2**30)

    def test_plan_serve(self):
        j = run_json("plan", "llama-3-8b", "--serve", "--rate", "5", "--prompt", "512", "--gen",
                     "128", "--ttft-ms", "1000", "--tpot-ms", "50", "--gpu",
                     "a100-80gb,h100-sxm", "--price-per-gpu-hour", "a100-80gb=1,h100-sxm=3")
        plans = j["plans"]
        self.assertTrue(plans)
        costs = [p["cost_per_hour"] for p in plans]
        self.assertEqual(costs, sorted(costs))
        for p in plans:
            self.assertLessEqual(p["sim_ttft_p90_seconds"], 1.0)
            self.assertLessEqual(p["sim_tpot_p90_seconds"], 0.05)
            self.assertEqual(p["gpus"], p["replicas"] * p["tp"] * p["pp"])
            price = 1 if p["gpu"] == "a100-80gb" else 3
            self.assertAlmostEqual(p["cost_per_hour"], p["gpus"] * price)
        self.assertGreater(j["evaluated"], 0)
        self.assertIn("rejected", j)
        self.assertLess(j["cpu_seconds"], 1.0)

    def test_errors(self):
        assert_input_error(self, ["infer", "llama-3-8b", "--prompt", "10"], "--gpu")
        assert_input_error(self, ["infer", "llama-3-8b", "--gpu", "h100-sxm", "--engine", "tgi"],
                           "--engine")
        assert_input_error(self, ["infer", "llama-3-8b", "--gpu", "h100-sxm", "--rate", "0"],
                           "--rate")
        assert_input_error(self, ["infer", "llama-3-8b", "--gpu", "h100-sxm", "--prompt", "0"],
                           "--prompt")
        assert_input_error(self, ["infer", "llama-3-70b", "--gpu", "h100-sxm", "--engine",
                                  "vllm"], "--gpu-memory")
        assert_input_error(self, ["plan", "llama-3-8b", "--serve"], "--rate")
        assert_input_error(self, ["plan", "llama-3-8b", "--serve", "--rate", "1", "--gpu",
                                  "h100-sxm,nope"], "--gpu")


if __name__ == "__main__":
    unittest.main()
