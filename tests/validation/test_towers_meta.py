"""Vision towers and projectors of the multimodal catalog models, built on the meta device.

For each data/models/*.json whose config has a vision tower, hf_reference_hybrid.py builds the
HF module tree (tower, projector, language model) from the published architecture and this test
asserts that `sizeup params <name> --json` reports the same vision_tower, projector and
language_model counts (the totals are checked by test_params_meta.py).
"""
import glob
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hf_reference  # noqa: E402
import hf_reference_hybrid  # noqa: E402
import refmodels  # noqa: E402

ROOT = os.environ.get("SIZEUP_ROOT", os.path.normpath(os.path.join(HERE, "..", "..")))
CATALOG = sorted(glob.glob(os.path.join(ROOT, "data", "models", "*.json")))


def multimodal_entries():
    for path in CATALOG:
        with open(path) as f:
            entry = json.load(f)
        if entry["config"].get("model_type") in hf_reference_hybrid.MULTIMODAL:
            yield entry


class TowersMetaTest(unittest.TestCase):
    def test_towers_and_projectors_match_the_reference_modules(self):
        names = []
        for entry in multimodal_entries():
            model = hf_reference.build_model(entry["config"])
            tower, projector = hf_reference_hybrid.tower_parameters(model)
            total = hf_reference.count_parameters(model)
            p = refmodels.run_sizeup("params", entry["name"])["params"]
            with self.subTest(model=entry["name"]):
                self.assertEqual(p["vision_tower"], tower)
                self.assertEqual(p["projector"], projector)
                self.assertEqual(p["language_model"], total - tower - projector)
            names.append(entry["name"])
        # Gemma 3, LLaVA, Mistral 3, Qwen2.5-VL and Llama 4 are in the catalog.
        self.assertGreaterEqual(len(names), 5, names)


if __name__ == "__main__":
    unittest.main()
