"""End-to-end: `sizeup flops` (FLOPs per token and per step by operation, approximations)."""
import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sizeup_cli import assert_input_error, run, run_json  # noqa: E402

# The seed documents' 354,336,768-parameter model (000_*.txt, 002_*.txt).
SEED = ["--layers", "24", "--hidden", "1024", "--heads", "16", "--vocab", "50000", "--ffn",
        "4096", "--max-positions", "1024", "--no-bias", "--no-final-norm"]


class FlopsTest(unittest.TestCase):
    def test_contract_keys(self):
        f = run_json("flops", "gpt2", "--seq", "128")["flops"]
        for k in ("forward_per_token", "training_per_token", "forward_per_step",
                  "training_per_step", "hardware_per_step", "breakdown", "approximations"):
            self.assertIn(k, f)
        self.assertEqual(f["training_per_token"], 3 * f["forward_per_token"])
        self.assertAlmostEqual(sum(f["breakdown"].values()), f["forward_per_token"], delta=1)

    def test_seed_example(self):
        j = run_json("flops", *SEED, "--seq", "1024", "--batch", "8")
        f = j["flops"]
        b = f["breakdown"]
        # q, k, v, o: 2 * L * d^2 = 2 * 24 * 1024^2 = 50,331,648 each; up/down 2 * 24 * 1024 *
        # 4096 = 201,326,592 each; QK^T and softmax*V 2 * 24 * 16 * 64 * 1024 = 50,331,648
        # each; head 2 * 1024 * 50000 = 102,400,000 (tied, still a matmul).
        for k in ("attn_q_proj", "attn_k_proj", "attn_v_proj", "attn_o_proj", "attn_scores",
                  "attn_values"):
            self.assertEqual(b[k], 50331648, k)
        self.assertEqual(b["mlp_up_proj"], 201326592)
        self.assertEqual(b["mlp_down_proj"], 201326592)
        self.assertEqual(b["output_head"], 102400000)
        self.assertEqual(b["embedding"], 0)
        self.assertEqual(f["forward_per_token"], 807043072)
        self.assertEqual(f["training_per_token"], 2421129216)
        # x B * T = 8 * 1024 = 8192 tokens per step.
        self.assertEqual(f["forward_per_step"], 6611296845824)
        self.assertEqual(f["training_per_step"], 19833890537472)
        self.assertEqual(f["hardware_per_step"], f["training_per_step"])

    def test_seed_document_formula_with_correct_arithmetic(self):
        # The seed's per-layer matmul terms, 8*B*L*d^2 (q, k, v, o) + 4*B*L^2*d (QK^T, AV) +
        # 4*B*L*d*f (FFN), evaluated without the slips, plus the output head 2*B*L*d*V it
        # omits, give sizeup's forward per step. The seed wrote 8*8*1024*1024^2 as
        # 67,108,864 (it is 68,719,476,736) and 4*8*1024*4096 for the FFN (no d).
        B, L, d, f, V, layers = 8, 1024, 1024, 4096, 50000, 24
        mha = 8 * B * L * d**2 + 4 * B * L**2 * d
        self.assertEqual(8 * B * L * d**2, 68719476736)
        self.assertEqual(4 * B * L**2 * d, 34359738368)
        ffn = 4 * B * L * d * f
        self.assertEqual(ffn, 137438953472)
        head = 2 * B * L * d * V
        j = run_json("flops", *SEED, "--seq", "1024", "--batch", "8")
        self.assertEqual(j["flops"]["forward_per_step"], layers * (mha + ffn) + head)
        # The seed's total, 96,661,929,984 FLOPs per step, is ~205x too small.
        self.assertAlmostEqual(j["flops"]["training_per_step"] / 96661929984, 205.19, places=2)

    def test_seed_kaplan_rows_are_visible(self):
        a = run_json("flops", *SEED, "--seq", "1024", "--batch", "8")["flops"]["approximations"]
        self.assertEqual(a["kaplan_attention_qkv"], 2 * 24 * 1024 * 3 * 1024)
        self.assertEqual(a["kaplan_attention_mask"], 2 * 24 * 1024 * 1024)
        self.assertEqual(a["kaplan_attention_project"], 2 * 24 * 1024 * 1024)
        self.assertEqual(a["kaplan_feedforward"], 2 * 24 * 2 * 1024 * 4096)
        self.assertEqual(a["kaplan_deembed"], 2 * 1024 * 50000)
        self.assertEqual(a["forward_2n"], 2 * 354336768)
        self.assertEqual(a["training_6n"], 6 * 354336768)
        # PaLM 6N + 12*L*H*Q*T; Korthikanti Eq. 7 equals the detailed model FLOPs for this
        # GPT shape (72*24*1024^2 + 12*24*1024*1024 + 6*1024*50000 = 2,421,129,216).
        self.assertEqual(a["palm"], 6 * 354336768 + 12 * 24 * 16 * 64 * 1024)
        self.assertEqual(a["korthikanti_model"], 2421129216)
        self.assertEqual(a["narayanan"], 3125772288)

    def test_seed_table_has_thousands_separators(self):
        code, out, err = run("flops", *SEED, "--seq", "1024", "--batch", "8")
        self.assertEqual(code, 0, err)
        self.assertIn("FLOPs (count)", out)
        self.assertIn("807,043,072", out)
        self.assertIn("19,833,890,537,472", out)
        self.assertIn("Kaplan: attention QKV", out)

    def test_recompute_and_halving(self):
        full = run_json("flops", *SEED, "--seq", "1024", "--batch", "8", "--recompute", "full")
        # Model FLOPs + forward of the 24 layers (807,043,072 - 102,400,000 head).
        self.assertEqual(full["flops"]["hardware_per_token"], 2421129216 + 704643072)
        self.assertEqual(full["flops"]["hardware_per_step"], (2421129216 + 704643072) * 8192)
        sel = run_json("flops", *SEED, "--seq", "1024", "--recompute", "selective")
        self.assertEqual(sel["flops"]["recompute_per_token"], 2 * 50331648)
        half = run_json("flops", *SEED, "--seq", "1024", "--causal-halving")
        # (1024 + 1) / 2 = 512.5 keys: 2 * 24 * 16 * 64 * 512.5 = 25,190,400.
        self.assertEqual(half["flops"]["breakdown"]["attn_scores"], 25190400)
        self.assertTrue(half["causal_halving"])

    def test_llama_2_7b_default_seq(self):
        j = run_json("flops", "llama-2-7b")
        self.assertEqual(j["seq"], 2048)  # min(4096 positions, 2048)
        # Notes name the option by its identifier (issue 8: no command-line spellings in src/).
        self.assertTrue(any("set seq" in n for n in j["notes"]))
        # 32 layers: attention 4 * 2 * 4096^2, SwiGLU 3 * 2 * 4096 * 11008, QK^T + AV
        # 2 * 2 * 4096 * 2048, head 2 * 4096 * 32000 (untied).
        per_layer = 8 * 4096**2 + 6 * 4096 * 11008 + 4 * 4096 * 2048
        self.assertEqual(j["flops"]["forward_per_token"], 32 * per_layer + 2 * 4096 * 32000)

    def test_gqa_and_moe_active_experts(self):
        b = run_json("flops", "llama-3-8b", "--seq", "8192")["flops"]["breakdown"]
        self.assertEqual(b["attn_k_proj"], 2 * 32 * (8 * 128) * 4096)  # 8 kv heads of 128
        self.assertEqual(b["attn_q_proj"], 2 * 32 * 4096 * 4096)
        m = run_json("flops", "mixtral-8x7b-v0.1", "--seq", "4096")["flops"]
        # 2 of 8 experts: 2 * 32 layers * 2 * 14336 * 4096 per expert matrix.
        self.assertEqual(m["breakdown"]["moe_experts_up_proj"], 2 * 32 * 2 * 14336 * 4096)
        self.assertEqual(m["breakdown"]["moe_router"], 2 * 32 * 8 * 4096)
        self.assertIn("training_6n_active", m["approximations"])

    def test_every_family_runs(self):
        for model in ("deepseek-v2-lite", "gemma-2-9b", "t5-small", "bert-base-uncased",
                      "opt-350m", "qwen1.5-moe-a2.7b", "falcon-7b", "phi-2"):
            f = run_json("flops", model, "--seq", "512")["flops"]
            self.assertGreater(f["forward_per_token"], 0, model)

    def test_huge_inputs(self):
        code, out, err = run("flops", "llama-3.1-405b", "--seq", "1e6", "--batch", "1e9",
                             "--recompute", "full", "--json")
        self.assertEqual(code, 0, err)
        j = json.loads(out)  # Python's json accepts NaN/Infinity, so check every number

        def numbers(x):
            if isinstance(x, dict):
                for v in x.values():
                    yield from numbers(v)
            elif isinstance(x, list):
                for v in x:
                    yield from numbers(v)
            elif isinstance(x, (int, float)) and not isinstance(x, bool):
                yield x
        self.assertTrue(all(math.isfinite(v) for v in numbers(j)))
        f = j["flops"]
        self.assertTrue(math.isfinite(f["hardware_per_step"]))
        self.assertAlmostEqual(f["training_per_step"] / (f["training_per_token"] * 1e15), 1.0)

    def test_explain_lists_every_row_with_source(self):
        code, out, err = run("flops", *SEED, "--seq", "1024", "--explain")
        self.assertEqual(code, 0, err)
        self.assertIn("## FLOPs of custom", out)
        self.assertIn("`2 * L * out * in`", out)
        self.assertIn("`2 * 24 * 1024 * 1024`", out)
        self.assertIn("Kaplan et al. 2020, Table 1", out)
        self.assertIn("Narayanan et al. 2021, Eq. 3", out)
        self.assertIn("Korthikanti et al. 2022, Appendix A, Eq. 8", out)

    def test_bad_inputs(self):
        assert_input_error(self, ["flops", "gpt2", "--seq", "0"], "--seq")
        assert_input_error(self, ["flops", "gpt2", "--seq", "-3"], "--seq")
        assert_input_error(self, ["flops", "gpt2", "--seq", "abc"], "--seq")
        assert_input_error(self, ["flops", "gpt2", "--batch", "0"], "--batch")
        assert_input_error(self, ["flops", "gpt2", "--batch", "1e30"], "--batch")
        assert_input_error(self, ["flops", "gpt2", "--recompute", "some"], "--recompute")
        assert_input_error(self, ["flops", "no-such-model"], "MODEL")


if __name__ == "__main__":
    unittest.main()
