"""Parameter counts of every catalog model, built on the meta device: exact.

For each data/models/*.json, hf_reference.py builds the HF transformers module tree from
the verbatim config.json with every parameter on the meta device, counts unique
parameters (HF num_parameters()), and this test asserts the count equals both the
published count in the catalog (params_total) and `sizeup params <name> --json`
params.total. Hypothetical models given by shape flags are checked against refmodels.py.
Writes the params_meta Markdown fragment.
"""
import glob
import json
import os
import sys
import time
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hf_reference  # noqa: E402
import refmodels  # noqa: E402

ROOT = os.environ.get("SIZEUP_ROOT", os.path.normpath(os.path.join(HERE, "..", "..")))
CATALOG = sorted(glob.glob(os.path.join(ROOT, "data", "models", "*.json")))

# Hypothetical models (refmodels.make_cfg fields); each is also described by sizeup flags.
HYPOTHETICAL = {
    "gpt2-style (learned positions, LayerNorm, GELU, biases, tied)": dict(),
    "llama-style (RoPE, RMSNorm, SwiGLU, GQA 8/2, no bias, untied)":
        dict(layers=3, hidden=96, heads=8, kv_heads=2, ffn=256, vocab=1000,
             positions="rope", norm="rmsnorm", mlp="swiglu", bias=False, tied=False),
    "MQA, explicit head_dim 32 != hidden/heads, no final norm":
        dict(layers=2, hidden=64, heads=4, kv_heads=1, head_dim=32, vocab=500,
             final_norm=False, tied=False),
    "MoE 8 experts top-2, expert ffn 48": dict(layers=2, hidden=64, heads=4, kv_heads=2,
                                               ffn=128, vocab=300, positions="rope",
                                               norm="rmsnorm", mlp="swiglu", bias=False,
                                               tied=False, experts=8, experts_per_token=2,
                                               expert_ffn=48),
}


def load(path):
    with open(path) as f:
        return json.load(f)


def measure_catalog():
    rows = []
    for path in CATALOG:
        entry = load(path)
        start = time.perf_counter()
        model = hf_reference.build_model(entry["config"])
        torch_count = hf_reference.count_parameters(model)
        rows.append(dict(name=entry["name"],
                         family=hf_reference.language_model_type(entry["config"]),
                         published=entry["params_total"], status=entry.get("params_status"),
                         torch=torch_count,
                         stacked=hf_reference.uses_stacked_experts(model),
                         seconds=time.perf_counter() - start,
                         sizeup=refmodels.run_sizeup("params", entry["name"])["params"]["total"]))
    return rows


def measure_hypothetical():
    rows = []
    for label, kw in HYPOTHETICAL.items():
        cfg = refmodels.make_cfg(**kw)
        torch_count = refmodels.count_parameters(refmodels.CausalLM(cfg))
        sizeup = refmodels.run_sizeup("params", *refmodels.sizeup_model_flags(cfg))
        rows.append(dict(label=label, torch=torch_count, sizeup=sizeup["params"]["total"]))
    return rows


def shapes(model):
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


class ParamsMetaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start = time.perf_counter()
        cls.rows = measure_catalog()
        cls.hypothetical = measure_hypothetical()
        cls.seconds = time.perf_counter() - start
        refmodels.write_fragment("params_meta", fragment(cls.rows, cls.hypothetical,
                                                         cls.seconds))

    def test_catalog_is_complete(self):
        # Every model sizeup ships is checked, and every family has a reference structure.
        shipped = {m["name"] for m in refmodels.run_sizeup("models")["models"]}
        self.assertEqual({r["name"] for r in self.rows}, shipped)
        self.assertGreaterEqual(len(self.rows), 63)
        self.assertEqual({r["family"] for r in self.rows}, set(hf_reference.BUILDERS))

    def test_torch_count_equals_published(self):
        for r in self.rows:
            with self.subTest(model=r["name"]):
                self.assertEqual(r["torch"], r["published"])

    def test_sizeup_count_equals_torch_count(self):
        for r in self.rows:
            with self.subTest(model=r["name"]):
                self.assertEqual(r["sizeup"], r["torch"])

    def test_hypothetical_models_match(self):
        for r in self.hypothetical:
            with self.subTest(model=r["label"]):
                self.assertEqual(r["sizeup"], r["torch"])

    def test_hypothetical_gpt2_style_hand_count(self):
        # make_cfg defaults: L=2, d=64, V=97, 128 positions, f=256, tied.
        # per layer: 2 LN (2*128) + qkvo 4*(64*64+64) + MLP (64*256+256) + (256*64+64)
        per_layer = 2 * 128 + 4 * (64 * 64 + 64) + (64 * 256 + 256) + (256 * 64 + 64)
        expected = 97 * 64 + 128 * 64 + 2 * per_layer + 128
        self.assertEqual(self.hypothetical[0]["torch"], expected)

    def test_stacked_and_per_expert_layouts_count_the_same(self):
        cfg = load(os.path.join(ROOT, "data", "models", "deepseek-v2-lite.json"))["config"]
        cfg = dict(cfg, num_hidden_layers=4)
        per_expert = hf_reference.build_model(cfg, stacked_experts=False)
        stacked = hf_reference.build_model(cfg, stacked_experts=True)
        self.assertFalse(hf_reference.uses_stacked_experts(per_expert))
        self.assertTrue(hf_reference.uses_stacked_experts(stacked))
        self.assertEqual(hf_reference.count_parameters(per_expert),
                         hf_reference.count_parameters(stacked))

    def test_parameters_are_on_meta(self):
        cfg = load(os.path.join(ROOT, "data", "models", "llama-3.1-405b.json"))["config"]
        model = hf_reference.build_model(cfg)
        self.assertTrue(all(p.device.type == "meta" for p in model.parameters()))

    def test_checkpoint_tensor_shapes(self):
        # Shapes of tensors as they appear (by name) in the published HF checkpoints.
        expect = {
            "gpt2": {"transformer.h.0.attn.c_attn.weight": (768, 2304),
                     "transformer.wpe.weight": (1024, 768)},
            "opt-350m": {"model.decoder.embed_tokens.weight": (50272, 512),
                         "model.decoder.embed_positions.weight": (2050, 1024),
                         "model.decoder.project_in.weight": (1024, 512),
                         "model.decoder.project_out.weight": (512, 1024)},
            "falcon-7b": {"transformer.h.0.self_attention.query_key_value.weight": (4672, 4544),
                          "transformer.h.0.input_layernorm.weight": (4544,)},
            "falcon-40b": {"transformer.h.0.self_attention.query_key_value.weight":
                           (9216, 8192), "transformer.h.0.ln_mlp.bias": (8192,)},
            "phi-3-mini-4k-instruct": {"model.layers.0.self_attn.qkv_proj.weight": (9216, 3072),
                                       "model.layers.0.mlp.gate_up_proj.weight": (16384, 3072)},
            "deepseek-v2-lite": {"model.layers.0.self_attn.q_proj.weight": (3072, 2048),
                                 "model.layers.0.self_attn.kv_a_proj_with_mqa.weight":
                                 (576, 2048),
                                 "model.layers.0.self_attn.kv_b_proj.weight": (4096, 512),
                                 "model.layers.0.mlp.gate_proj.weight": (10944, 2048),
                                 "model.layers.1.mlp.gate.weight": (64, 2048),
                                 "model.layers.1.mlp.shared_experts.gate_proj.weight":
                                 (2816, 2048),
                                 "model.layers.1.mlp.experts.63.down_proj.weight":
                                 (2048, 1408)},
            "qwen1.5-moe-a2.7b": {"model.layers.0.mlp.shared_expert_gate.weight": (1, 2048),
                                  "model.layers.0.self_attn.q_proj.bias": (2048,)},
            "t5-small": {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight":
                         (32, 8),
                         "decoder.block.0.layer.1.EncDecAttention.q.weight": (512, 512)},
            "bert-base-uncased": {"pooler.dense.weight": (768, 768),
                                  "embeddings.token_type_embeddings.weight": (2, 768)},
        }
        for name, tensors in expect.items():
            cfg = load(os.path.join(ROOT, "data", "models", name + ".json"))["config"]
            got = shapes(hf_reference.build_model(cfg))
            for tensor, shape in tensors.items():
                with self.subTest(model=name, tensor=tensor):
                    self.assertEqual(got.get(tensor), shape)
        t5 = shapes(hf_reference.build_model(
            load(os.path.join(ROOT, "data", "models", "t5-small.json"))["config"]))
        self.assertNotIn("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight",
                         t5)
        self.assertNotIn("lm_head.weight", t5)  # tied to shared: one Parameter, one name

    def test_deepseek_v3_router_has_no_correction_bias_parameter(self):
        cfg = load(os.path.join(ROOT, "data", "models", "deepseek-v3.json"))["config"]
        names = shapes(hf_reference.build_model(dict(cfg, num_hidden_layers=4)))
        self.assertIn("model.layers.3.mlp.gate.weight", names)
        self.assertNotIn("model.layers.3.mlp.gate.e_score_correction_bias", names)
        self.assertNotIn("model.layers.2.mlp.gate.weight", names)  # first_k_dense_replace 3


def fragment(rows, hypothetical, seconds):
    ok = sum(r["torch"] == r["published"] == r["sizeup"] for r in rows)
    lines = [
        "## Parameter counts on the meta device (test_params_meta.py)",
        "",
        f"Every catalog model ({len(rows)}) rebuilt from its verbatim config.json as the HF "
        "transformers module tree (tests/validation/hf_reference.py, written independently "
        "of sizeup's tensor table) with all parameters on PyTorch's meta device, unique "
        "parameters counted as `num_parameters()` does. "
        f"**{ok} of {len(rows)} agree exactly** with the published count and with "
        f"`sizeup params <name> --json` (measured in {seconds:.0f} s, torch "
        f"{torch.__version__}).",
        "",
        "Buffers are not parameters (DeepSeek-V3's `e_score_correction_bias`, rotary "
        "`inv_freq`, Gemma3's `embed_scale`). Models marked * hold their routed experts as "
        "stacked {E, out, in} parameters (the fused layout of recent HF releases) instead of "
        "one module per expert, to build quickly; the two layouts are checked to count the "
        "same.",
        "",
        "| model | family | published | torch meta count | sizeup count | status |",
        "|---|---|--:|--:|--:|---|",
    ]
    for r in rows:
        status = "exact" if r["torch"] == r["published"] == r["sizeup"] else (
            f"MISMATCH (torch-published {r['torch'] - r['published']:+,}, "
            f"sizeup-torch {r['sizeup'] - r['torch']:+,})")
        source = " (derived)" if r["status"] == "derived" else ""
        lines.append(f"| {r['name']}{' *' if r['stacked'] else ''} | {r['family']} | "
                     f"{r['published']:,}{source} | {r['torch']:,} | {r['sizeup']:,} | "
                     f"{status} |")
    lines += ["", "Hypothetical models from shape flags (refmodels.CausalLM vs "
              "`sizeup params --layers ... --json`):", "",
              "| model | torch count | sizeup count | status |", "|---|--:|--:|---|"]
    for r in hypothetical:
        lines.append(f"| {r['label']} | {r['torch']:,} | {r['sizeup']:,} | "
                     f"{'exact' if r['torch'] == r['sizeup'] else 'MISMATCH'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    unittest.main()
