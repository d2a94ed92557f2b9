"""sizeup params / models / dtypes, run as a user would, JSON parsed."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sizeup_cli import ROOT, assert_input_error, run, run_json  # noqa: E402

SEED_FLAGS = ["--layers", "24", "--hidden", "1024", "--heads", "16", "--vocab", "50000",
              "--ffn", "4096", "--max-positions", "1024", "--no-bias", "--no-final-norm", "--tied"]


class ParamsTest(unittest.TestCase):
    def test_catalog_model_by_name_and_hf_id(self):
        a = run_json("params", "llama-2-7b")
        b = run_json("params", "meta-llama/Llama-2-7b-hf")
        self.assertEqual(a["params"]["total"], 6738415616)
        self.assertEqual(a["params"], b["params"])
        self.assertEqual(a["params"]["active"], a["params"]["total"])
        self.assertEqual(a["params"]["embedding"] + a["params"]["non_embedding"], 6738415616)
        # token embedding and untied head: 2 x 32000 x 4096
        self.assertEqual(a["params"]["embedding"], 2 * 32000 * 4096)

    def test_seed_example_from_flags(self):
        p = run_json("params", *SEED_FLAGS)["params"]
        self.assertEqual(p["total"], 354336768)
        self.assertEqual(p["components"]["attention"], 100663296)
        self.assertEqual(p["components"]["mlp"], 201326592)
        self.assertEqual(p["components"]["norm"], 98304)

    def test_weight_memory_per_dtype_in_bytes(self):
        w = {x["dtype"]: x for x in run_json("params", *SEED_FLAGS)["weights"]}
        self.assertEqual(w["fp32"]["bytes"], 1417347072)
        self.assertAlmostEqual(w["fp32"]["gib"], 1417347072 / 2**30)
        self.assertAlmostEqual(w["fp32"]["gb"], 1.417347072)
        self.assertEqual(w["int4"]["bytes"], 354336768 // 2)

    def test_moe_active_params(self):
        p = run_json("params", "mixtral-8x7b-v0.1")["params"]
        self.assertEqual(p["total"], 46702792704)
        self.assertEqual(p["active"], 12879925248)

    def test_config_path_and_directory(self):
        cfg = {"model_type": "gpt2", "vocab_size": 50257, "n_embd": 768, "n_layer": 12,
               "n_head": 12, "n_positions": 1024}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "config.json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            self.assertEqual(run_json("params", path)["params"]["total"], 124439808)
            self.assertEqual(run_json("params", d)["params"]["total"], 124439808)

    def test_explain_shows_derivation(self):
        code, out, _ = run("params", *SEED_FLAGS, "--explain")
        self.assertEqual(code, 0)
        self.assertIn("24 x 1024 x 1024", out)
        self.assertIn("354,336,768", out)

    def test_bad_inputs_are_one_line_errors(self):
        assert_input_error(self, ["params", "no-such-model"], "MODEL")
        assert_input_error(self, ["params", "--layers", "2", "--hidden", "10", "--heads", "3",
                                  "--vocab", "5"], "--heads")
        assert_input_error(self, ["params", "--layers", "2", "--hidden", "8", "--heads", "2",
                                  "--kv-heads", "3", "--vocab", "5"], "--kv-heads")
        assert_input_error(self, ["params", "--layers", "-1", "--hidden", "8", "--heads", "2",
                                  "--vocab", "5"], "--layers")
        assert_input_error(self, ["params", "--layers", "2", "--hidden", "8", "--heads", "2",
                                  "--vocab", "5", "--experts", "4", "--experts-per-token", "5"],
                           "--experts-per-token")
        assert_input_error(self, ["params", "llama-2-7b", "--layers", "3"], "MODEL")

    def test_malformed_config_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write("{broken")
        try:
            assert_input_error(self, ["params", f.name], "config.json")
        finally:
            os.unlink(f.name)

    def test_huge_model_does_not_overflow(self):
        p = run_json("params", "--layers", "2000", "--hidden", "65536", "--heads", "512",
                     "--vocab", "256000")["params"]
        self.assertEqual(p["non_embedding"],
                         2000 * (12 * 65536**2 + 4 * 65536 + 5 * 65536 + 4 * 65536) + 2 * 65536)
        # per layer: 12 d^2 weights, 4d attention biases, 5d MLP biases, two LayerNorms 4d


class ModelsTest(unittest.TestCase):
    def test_catalog_lists_at_least_40_models_all_matching(self):
        models = run_json("models")["models"]
        self.assertGreaterEqual(len(models), 40)
        for m in models:
            self.assertEqual(m["params"], m["params_published"], m["name"])


class DtypesTest(unittest.TestCase):
    def test_ranges(self):
        d = {x["name"]: x for x in run_json("dtypes")["dtypes"]}
        self.assertEqual(d["fp16"]["max_finite"], 65504)
        self.assertEqual(d["fp8-e4m3fn"]["max_finite"], 448)
        self.assertEqual(d["fp8-e5m2"]["max_finite"], 57344)
        self.assertEqual(d["bf16"]["exponent_bits"], 8)
        for name in ["fp64", "fp32", "tf32", "bf16", "fp16", "fp8-e4m3fn", "fp8-e5m2",
                     "fp4-e2m1", "int8", "int4", "nf4"]:
            self.assertIn(name, d)


if __name__ == "__main__":
    unittest.main()
