"""End-to-end: `sizeup plan` (layout search ranked by the step-time model)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sizeup_cli import assert_input_error, run_json  # noqa: E402

BASE = ["plan", "gpt2", "--gpus", "8", "--gpu", "a100-80gb", "--global-batch", "64",
        "--seq", "1024", "--threads", "1"]


class PlanTest(unittest.TestCase):
    def test_counts_add_up_and_plans_are_ranked(self):
        j = run_json(*BASE, "--top", "4")
        self.assertEqual(j["evaluated"], j["feasible"] + sum(j["rejected"].values()))
        self.assertEqual(set(j["rejected"]), {"out_of_memory", "batch_indivisible",
                                              "interleave_batches", "pipeline_layers",
                                              "expert_indivisible", "hybrid_group"})
        steps = [p["step_seconds"] for p in j["plans"]]
        self.assertEqual(len(steps), 4)
        self.assertEqual(steps, sorted(steps))
        self.assertGreater(j["seconds"], 0)

    def test_best_layout_reproduced_by_train(self):
        # The plan's best layout, run through `sizeup train`, gives the same step and memory.
        j = run_json(*BASE, "--top", "1")
        best = j["plans"][0]
        lay = best["layout"]
        args = ["train", "gpt2", "--gpus", "8", "--gpu", "a100-80gb", "--global-batch", "64",
                "--seq", "1024", "--dp", lay["dp"], "--tp", lay["tp"], "--pp", lay["pp"],
                "--cp", lay["cp"], "--micro-batch", lay["micro_batch"],
                "--recompute", lay["recompute"]]
        if lay["sequence_parallel"]:
            args.append("--sequence-parallel")
        if lay["interleave"] > 1:
            args += ["--schedule", "interleaved", "--interleave", lay["interleave"]]
        sharding = lay["sharding"]
        if sharding == "fsdp_hybrid":
            args += ["--fsdp", "hybrid"]
        elif sharding != "zero0":
            args += ["--zero", sharding[-1]]
        if lay["offload"] == "optimizer":
            args += ["--offload", "optimizer"]
        t = run_json(*args)
        self.assertAlmostEqual(t["time"]["step_seconds"], best["step_seconds"], places=9)
        self.assertEqual(t["memory"]["total_bytes"], best["memory_bytes"])
        self.assertAlmostEqual(j["best"]["time"]["step_seconds"], best["step_seconds"], places=9)

    def test_constraints_fix_dimensions(self):
        j = run_json(*BASE, "--tp", "2", "--max-pp", "2", "--recompute", "full", "--top", "50")
        for p in j["plans"]:
            self.assertEqual(p["layout"]["tp"], 2)
            self.assertLessEqual(p["layout"]["pp"], 2)
            self.assertEqual(p["layout"]["recompute"], "full")

    def test_memory_limit_rejects(self):
        base = [a for a in BASE if a != "a100-80gb" and a != "--gpu"]
        j = run_json(*base, "--gpu", "custom", "--peak-tflops", "312", "--gpu-memory", "2GiB",
                     "--bandwidth", "2TB", "--intra-node-bandwidth", "300GB",
                     "--inter-node-bandwidth", "25GB")
        self.assertGreater(j["rejected"]["out_of_memory"], 0)
        for p in j["plans"]:
            self.assertLessEqual(p["memory_bytes"], 2 * 2**30)

    def test_days_and_sweep(self):
        d = run_json("plan", "gpt2", "--gpu", "a100-80gb", "--global-batch", "64", "--seq", "1024",
                     "--tokens", "1e10", "--days", "1", "--threads", "1")
        self.assertTrue(d["days"]["found"])
        self.assertLessEqual(d["days"]["days"], 1)
        s = run_json(*BASE, "--sweep", "global_batch=32,64")
        self.assertEqual([p["value"] for p in s["sweep"]], [32, 64])

    def test_errors(self):
        assert_input_error(self, ["plan", "gpt2", "--gpus", "8"], "--global-batch")
        assert_input_error(self, BASE + ["--gemm-efficiency", "1.5"], "--gemm-efficiency")
        assert_input_error(self, BASE + ["--sweep", "layers=1,2"], "--sweep")
        assert_input_error(self, ["plan", "gpt2", "--global-batch", "8", "--days", "2"], "--tokens")


if __name__ == "__main__":
    unittest.main()
