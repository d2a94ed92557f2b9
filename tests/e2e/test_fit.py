"""End-to-end: `sizeup fit` (largest model by bytes per parameter; largest micro-batch)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sizeup_cli import assert_input_error, run_json  # noqa: E402

GIB80 = 80 * 2**30


class FitTest(unittest.TestCase):
    def test_cs336_largest_model_on_8_h100(self):
        # fp32 AdamW: 4 + 4 + 8 = 16 bytes/param; 8 x 80 GiB / 16, or 8 x 80e9 / 16 = 40e9.
        j = run_json("fit", "--gpu", "h100-sxm", "--gpus", 8, "--precision", "fp32")
        self.assertEqual(j["bytes_per_param"]["total"], 16)
        self.assertEqual(j["max_params"], 8 * GIB80 // 16)
        self.assertEqual(j["readings"][1]["max_params"], 40_000_000_000)
        # Mixed precision with ZeRO's bf16 gradients: 2 + 2 + 4 + 8 = 16 too.
        j = run_json("fit", "--gpus", 8, "--grad-dtype", "bf16")
        self.assertEqual(j["max_params"], 8 * GIB80 // 16)
        # Default mixed precision keeps fp32 gradients: 18 bytes/param.
        self.assertEqual(run_json("fit", "--gpus", 8)["max_params"], 8 * GIB80 // 18)

    def test_hybrid_sharding_fits_what_one_node_fits(self):
        # HYBRID_SHARD: each node holds a replica sharded over its 8 GPUs, so 64 GPUs fit what
        # 8 fit with ZeRO-3: 8 x 80 GiB / 16 B (fp32 AdamW) = 42,949,672,960.
        j = run_json("fit", "--gpu", "h100-sxm", "--gpus", "64", "--fsdp", "hybrid",
                     "--precision", "fp32")
        self.assertEqual(j["max_params"], 42949672960)
        self.assertTrue(any("hybrid" in n for n in j["notes"]))

    def test_zero_stages_and_serving(self):
        self.assertEqual(run_json("fit", "--gpus", 8, "--zero", 0)["max_params"], GIB80 // 18)
        self.assertEqual(run_json("fit", "--gpus", 8, "--zero", 2)["max_params"], GIB80 // 4)
        j = run_json("fit", "--gpus", 8, "--mode", "infer")
        self.assertEqual(j["max_params"], 8 * GIB80 // 2)
        j = run_json("fit", "--gpus", 8, "--mode", "infer", "--dtype", "int4")
        self.assertEqual(j["max_params"], 8 * GIB80 * 2)
        j = run_json("fit", "--gpus", 1, "--optimizer", "adam8bit")  # 2 + 4 + 4 + 2·(1 + 4/2048)
        self.assertEqual(j["max_params"], int(GIB80 / (10 + 2 * (1 + 4 / 2048))))

    def test_largest_micro_batch_is_consistent_with_train(self):
        j = run_json("fit", "llama-2-7b", "--gpus", 8, "--seq", 4096)
        b = j["max_micro_batch"]
        self.assertGreaterEqual(b, 1)
        self.assertLess(j["max_params"], j["max_params_no_activations"])
        common = ["train", "llama-2-7b", "--gpus", 8, "--zero", 3, "--seq", 4096]
        self.assertTrue(run_json(*common, "--micro-batch", b)["fits"])
        self.assertFalse(run_json(*common, "--micro-batch", b + 1)["fits"])

    def test_params_fit_and_min_gpus(self):
        # 70e9 x 18 B = 1.26e12 B; 80 GiB per GPU -> 15 GPUs with ZeRO-3.
        j = run_json("fit", "--params", "70B", "--gpus", 8)
        self.assertFalse(j["fits"])
        self.assertEqual(j["min_gpus"], 15)
        j = run_json("fit", "--params", "70B", "--gpus", 16)
        self.assertTrue(j["fits"])
        self.assertIsNone(run_json("fit", "--params", "70B", "--zero", 0)["min_gpus"])

    def test_errors(self):
        assert_input_error(self, ["fit", "--mode", "serve"], "--mode")
        assert_input_error(self, ["fit", "--zero", "5"], "--zero")
        assert_input_error(self, ["fit", "--gpus", "0"], "--gpus")
        assert_input_error(self, ["fit", "gpt2", "--params", "7B"], "--params")
        assert_input_error(self, ["fit", "--mode", "infer", "--dtype", "int3"], "--dtype")


if __name__ == "__main__":
    unittest.main()
