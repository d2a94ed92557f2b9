"""End-to-end: `sizeup train` (memory of the most loaded GPU, FLOPs, step time, seed heuristics)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sizeup_cli import assert_input_error, run, run_json  # noqa: E402

# The seed documents' 354M model (seed 002; docs/params.md).
SEED = ["--layers", "24", "--hidden", "1024", "--heads", "16", "--vocab", "50000", "--ffn", "4096",
        "--max-positions", "1024", "--no-bias", "--no-final-norm"]
N_SEED = 354336768
N_7B = 6738415616


class TrainTest(unittest.TestCase):
    def test_moe_capacity_factor_changes_routed_copies(self):
        # Dropless top-k routing keeps k copies of each token; capacity factor 1.0 gives every
        # expert exactly k·T/E slots, the same total; 2.0 doubles the routed-copy tensors.
        args = ["train", "mixtral-8x7b-v0.1", "--gpus", "8", "--zero", "3", "--ep", "8"]
        dropless = run_json(*args)["memory"]["activations_bytes"]
        one = run_json(*args, "--moe-capacity-factor", "1")["memory"]["activations_bytes"]
        two = run_json(*args, "--moe-capacity-factor", "2")["memory"]["activations_bytes"]
        self.assertEqual(dropless, one)
        self.assertGreater(two, one)
        assert_input_error(self, args + ["--moe-capacity-factor", "-1"], "--moe-capacity-factor")

    def test_contract_keys_are_integers(self):
        j = run_json("train", "llama-2-7b", "--seq", "1024")
        for k in ["weights_bytes", "gradients_bytes", "optimizer_bytes", "activations_bytes",
                  "total_bytes", "master_bytes"]:
            self.assertIsInstance(j["memory"][k], int, k)
        self.assertIsInstance(j["fits"], bool)
        for k in ["per_step"]:
            self.assertGreater(j["flops"][k], 0)
        self.assertGreater(j["time"]["step_seconds"], 0)
        # Without --mfu the step-time model predicts the time; its MFU is reported.
        self.assertEqual(j["time"]["model"], "step-time")
        self.assertEqual(j["mfu"], j["time"]["mfu"])
        self.assertTrue(0 < j["mfu"] < 1)
        for k in ["hfu", "tokens_per_second", "tokens_per_second_per_gpu", "tflops_per_gpu",
                  "compute_seconds", "pp_bubble_seconds", "dp_comm_seconds"]:
            self.assertIn(k, j["time"])
        self.assertEqual(run_json("train", "llama-2-7b", "--seq", "1024", "--mfu", "0.4")["mfu"],
                         0.4)
        rows = ["weights_bytes", "fp8_weight_cache_bytes", "gradients_bytes", "master_bytes",
                "optimizer_bytes", "activations_bytes", "logits_bytes", "communication_bytes",
                "overhead_bytes"]
        self.assertEqual(sum(j["memory"][k] for k in rows), j["memory"]["total_bytes"])

    def test_seed_354m_batch_8_and_32(self):
        # 242 tensors: embed, positions + 24 x (q, k, v, o, up, down, 2 x LayerNorm weight+bias).
        for b, seed002_act in [(8, 2013265920), (32, 8053063680)]:
            j = run_json("train", *SEED, "--micro-batch", b, "--seq", 1024)
            m = j["memory"]
            self.assertEqual(m["weights_bytes"], 2 * N_SEED)
            self.assertEqual(m["gradients_bytes"], 4 * N_SEED)
            self.assertEqual(m["master_bytes"], 4 * N_SEED)
            self.assertEqual(m["optimizer_bytes"], 8 * N_SEED + 242 * 4)
            h002, h004 = j["heuristics"]
            # 5 x B x 1024 x 1024 x 2 x 24 (the seed's 84,886,016 per layer is a slip for 83,886,080).
            self.assertEqual(h002["memory"]["activations_bytes"], seed002_act)
            self.assertEqual(h002["memory"]["total_bytes"], 12 * N_SEED + seed002_act)
            # s·b·h·L·(34 + 5·a·s/h) = 1024·B·1024·24·(34 + 80)
            self.assertEqual(h004["memory"]["activations_bytes"], 1024 * b * 1024 * 24 * 114)
            self.assertEqual(h004["memory"]["total_bytes"],
                             16 * N_SEED + 1024 * b * 1024 * 24 * 114)

    def test_recipes_and_optimizers(self):
        j = run_json("train", *SEED, "--precision", "fp32", "--optimizer", "sgd", "--seq", 1024)
        self.assertEqual(j["memory"]["weights_bytes"], 4 * N_SEED)
        self.assertEqual(j["memory"]["optimizer_bytes"], 0)
        self.assertEqual(j["memory"]["master_bytes"], 0)
        j = run_json("train", *SEED, "--grad-dtype", "bf16", "--seq", 1024)
        self.assertEqual(j["memory"]["gradients_bytes"], 2 * N_SEED)
        j = run_json("train", *SEED, "--optimizer", "lion", "--precision", "bf16", "--seq", 1024)
        self.assertEqual(j["memory"]["optimizer_bytes"], 2 * N_SEED)

    def test_llama_7b_zero3_on_8_gpus(self):
        j = run_json("train", "llama-2-7b", "--gpus", 8, "--zero", 3, "--seq", 4096, "--mfu", 0.4)
        self.assertEqual(j["layout"]["dp"], 8)
        self.assertEqual(j["memory"]["weights_bytes"], 2 * N_7B // 8)
        self.assertEqual(j["memory"]["gradients_bytes"], 4 * N_7B // 8)
        self.assertTrue(j["fits"])
        # Step time = FLOPs / (G x peak x MFU); FLOPs within 6N·D and 6N·D + attention.
        tokens = 8 * 4096
        self.assertAlmostEqual(j["time"]["step_seconds"],
                               j["flops"]["per_step"] / (8 * j["time"]["peak_flops_per_s"] * 0.4))
        self.assertGreater(j["flops"]["per_step"], 6 * N_7B * tokens * 0.98)
        self.assertLess(j["flops"]["per_step"], (6 * N_7B + 12 * 32 * 4096 * 4096) * tokens)

    def test_pipeline_names_the_stage(self):
        j = run_json("train", "llama-2-70b", "--gpus", 32, "--tp", 8, "--pp", 4, "--seq", 4096,
                     "--global-batch", 32, "--sequence-parallel")
        self.assertEqual(j["workload"]["micro_batches"], 32)
        self.assertEqual(j["workload"]["in_flight_micro_batches"], 4)
        self.assertIn(j["memory"]["stage"], ["first", "last"])
        self.assertEqual(j["memory"]["total_bytes"],
                         max(j["memory"]["first_stage_bytes"], j["memory"]["last_stage_bytes"]))

    def test_single_gpu_70b_does_not_fit_but_qlora_does(self):
        self.assertFalse(run_json("train", "llama-2-70b", "--seq", 2048)["fits"])
        j = run_json("train", "llama-2-70b", "--finetune", "qlora", "--optimizer", "adam8bit",
                     "--recompute", "full", "--seq", 2048)
        self.assertTrue(j["fits"])
        self.assertEqual(j["params"]["trainable"], 16 * (8192 + 8192) * 80 + 16 * (8192 + 1024) * 80)

    def test_lora_gpt2_fused_c_attn(self):
        j = run_json("train", "gpt2", "--finetune", "lora", "--lora-rank", 8, "--seq", 1024)
        self.assertEqual(j["params"]["trainable"], 294912)
        self.assertEqual(j["adapters"][0]["module"], "c_attn")

    def test_expert_parallel_divides_experts(self):
        base = run_json("train", "mixtral-8x7b-v0.1", "--gpus", 8, "--seq", 1024)
        ep = run_json("train", "mixtral-8x7b-v0.1", "--gpus", 8, "--ep", 8, "--seq", 1024)
        # Experts: 32 layers x 8 experts x 3 x 14336 x 4096 parameters; with ep 8 each rank
        # keeps one expert per layer, so 7/8 of them leave (2 bytes each in bf16).
        experts = 32 * 8 * 3 * 14336 * 4096
        self.assertEqual(base["memory"]["weights_bytes"] - ep["memory"]["weights_bytes"],
                         2 * experts * 7 // 8)

    def test_offload(self):
        j = run_json("train", "llama-2-7b", "--offload", "optimizer", "--seq", 1024)
        self.assertEqual(j["memory"]["optimizer_bytes"], 0)
        self.assertEqual(j["memory"]["host_bytes"], 12 * N_7B + 291 * 4)

    def test_huge_cluster(self):
        j = run_json("train", "llama-2-70b", "--gpus", 100000, "--zero", 3, "--seq", 4096,
                     "--tokens", "15T")
        self.assertGreater(j["time"]["days"], 0)
        code, out, _ = run("train", "llama-2-70b", "--gpus", 100000, "--json")
        self.assertEqual(code, 0)
        for bad in ("NaN", "Infinity", "null"):
            self.assertNotIn(bad, out)

    def test_explain_and_text(self):
        code, out, _ = run("train", *SEED, "--micro-batch", 8, "--seq", 1024, "--explain")
        self.assertEqual(code, 0)
        self.assertIn("Seed heuristic", out)
        self.assertIn("master", out)
        code, out, _ = run("train", *SEED, "--micro-batch", 8, "--seq", 1024)
        self.assertIn("seed 002", out)

    def test_errors_name_the_option(self):
        assert_input_error(self, ["train", "llama-2-7b", "--tp", "3"], "--tp")
        assert_input_error(self, ["train", "llama-2-7b", "--pp", "5"], "--pp")
        assert_input_error(self, ["train", "llama-2-7b", "--gpus", "8", "--dp", "3"], "--gpus")
        assert_input_error(self, ["train", "llama-2-7b", "--ep", "2"], "--ep")
        assert_input_error(self, ["train", "mixtral-8x7b-v0.1", "--ep", "3", "--dp", "3"], "--ep")
        assert_input_error(self, ["train", "llama-2-7b", "--precision", "fp9"], "--precision")
        assert_input_error(self, ["train", "llama-2-7b", "--finetune", "lora",
                                  "--lora-targets", "c_attn_x"], "--lora-targets")
        assert_input_error(self, ["train", "llama-2-7b", "--dp", "2", "--global-batch", "3"],
                           "--global-batch")
        assert_input_error(self, ["train", "llama-2-7b", "--zero", "4"], "--zero")
        assert_input_error(self, ["train", "llama-2-7b", "--micro-batch", "0"], "--micro-batch")
        assert_input_error(self, ["train", "gpt2", "--seq", "4096"], "--seq")
        assert_input_error(self, ["train", "llama-2-7b", "--lora-rank", "8"], "--lora-rank")


if __name__ == "__main__":
    unittest.main()
