"""End-to-end: the hidden `sizeup activations` command (Korthikanti Table 2 figures, catalog
models, MoE, recompute, errors)."""
import unittest

from sizeup_cli import assert_input_error, run, run_json

# GPT-3 175B shape of Korthikanti et al. Table 3: a 96, h 12288, s 2048, b 1, t 8.
GPT3 = ["--layers", "96", "--hidden", "12288", "--heads", "96", "--vocab", "51200",
        "--max-positions", "2048", "--batch", "1", "--seq", "2048", "--dropout", "0.1",
        "--attention", "eager", "--convention", "korthikanti", "--activation-dtype", "bf16"]
SBH = 2048 * 1 * 12288


class ActivationsCli(unittest.TestCase):
    def test_gpt3_tensor_parallel_row_of_table_2(self):
        # s*b*h*(10 + 24/t + 5*a*s/(h*t)) = sbh * (10 + 3 + 10)
        j = run_json("activations", *GPT3, "--tp", "8")
        self.assertEqual(j["per_layer_bytes"], SBH * 23)
        self.assertEqual(j["n_dense_layers"], 96)

    def test_gpt3_sequence_parallel_and_selective(self):
        j = run_json("activations", *GPT3, "--tp", "8", "--sequence-parallel")
        self.assertEqual(j["per_layer_bytes"], SBH * (34 + 80) // 8)
        j = run_json("activations", *GPT3, "--tp", "8", "--sequence-parallel",
                     "--recompute", "selective")
        self.assertEqual(j["per_layer_bytes"], SBH * 34 // 8)
        # Sec. 5: selective recompute saves 70% of the activation memory for GPT-3.
        self.assertAlmostEqual(1 - 34 / 114, 0.70, places=2)

    def test_full_recompute_keeps_the_layer_input_and_reports_the_peak(self):
        none = run_json("activations", *GPT3)
        full = run_json("activations", *GPT3, "--recompute", "full")
        self.assertEqual(full["per_layer_bytes"], 2 * SBH)
        peak = [r for r in full["outside"] if r["key"] == "recompute_peak"]
        self.assertEqual(peak[0]["bytes"], none["per_layer_bytes"])
        self.assertEqual(none["per_layer_bytes"], SBH * (34 + 80))

    def test_seed_354m_total(self):
        # 24 layers of 8*1024*1024*114 bytes plus embedding dropout mask (sbh), output-layer
        # input (2sbh) and fp32 logits (4*s*b*V) for V = 50,000 (no final norm).
        sbh = 8 * 1024 * 1024
        j = run_json("activations", "--layers", "24", "--hidden", "1024", "--heads", "16",
                     "--vocab", "50000", "--max-positions", "1024", "--no-final-norm",
                     "--batch", "8", "--seq", "1024", "--dropout", "0.1", "--attention",
                     "eager", "--convention", "korthikanti")
        self.assertEqual(j["per_layer_bytes"], 956301312)
        self.assertEqual(j["outside_bytes"], 3 * sbh + 4 * sbh // 1024 * 50000)
        self.assertEqual(j["total_bytes"], 24 * 956301312 + j["outside_bytes"])

    def test_catalog_llama_rows_sum(self):
        j = run_json("activations", "llama-3-8b", "--batch", "1", "--seq", "8192")
        self.assertEqual(j["per_layer_bytes"], sum(r["bytes"] for r in j["per_layer"]))
        self.assertEqual(j["total_bytes"],
                         32 * j["per_layer_bytes"] + j["outside_bytes"])
        keys = {r["key"] for r in j["per_layer"]}
        self.assertIn("attn_logsumexp", keys)  # flash attention is the default
        self.assertNotIn("attn_softmax", keys)
        k = next(r for r in j["per_layer"] if r["key"] == "k")
        self.assertEqual(k["bytes"], 8192 * 8 * 128 * 2)  # 8 kv heads of 128, bf16

    def test_mixtral_moe_layers(self):
        j = run_json("activations", "mixtral-8x7b-v0.1", "--batch", "1", "--seq", "4096")
        self.assertEqual(j["n_moe_layers"], 32)
        self.assertEqual(j["n_dense_layers"], 0)
        rows = {r["key"]: r["bytes"] for r in j["moe_layer"]}
        self.assertEqual(rows["expert_input"], 4096 * 2 * 4096 * 2)  # 2 copies of each token
        self.assertEqual(j["total_bytes"], 32 * j["moe_layer_bytes"] + j["outside_bytes"])

    def test_text_and_explain(self):
        code, out, err = run("activations", *GPT3, "--tp", "8")
        self.assertEqual(code, 0, err)
        self.assertIn("total:", out)
        code, out, err = run("activations", *GPT3, "--explain")
        self.assertEqual(code, 0, err)
        self.assertIn("Korthikanti", out)

    def test_listed_in_help(self):
        # Listed since the hostile-input pass (89404d1: "sizeup activations is listed in --help").
        code, out, _ = run("--help")
        self.assertEqual(code, 0)
        self.assertIn("activations", out)

    def test_bad_inputs(self):
        base = ["activations", "--layers", "2", "--hidden", "64", "--heads", "4", "--vocab", "99"]
        assert_input_error(self, base + ["--batch", "0"], "--batch")
        assert_input_error(self, base + ["--seq", "0"], "--seq")
        assert_input_error(self, base + ["--convention", "megatron"], "--convention")
        assert_input_error(self, base + ["--activation-dtype", "fp5"], "--activation-dtype")
        assert_input_error(self, base + ["--recompute", "half"], "--recompute")
        assert_input_error(self, base + ["--attention", "sdpa"], "--attention")
        assert_input_error(self, base + ["--dropout", "1"], "--dropout")
        assert_input_error(self, base + ["--tp", "0"], "--tp")
        # b * a * s^2 * p = 1e6 * 4 * 1e18 * 2 bytes does not fit in 64 bits; the larger of
        # the two workload sizes is named.
        assert_input_error(self, base + ["--batch", "1e6", "--seq", "1e9", "--attention",
                                         "eager"], "--seq")


if __name__ == "__main__":
    unittest.main()
