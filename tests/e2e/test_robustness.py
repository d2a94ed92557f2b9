"""Robustness sweep: every catalog model through params, flops, infer and train (--json).

Checks what must hold for any input: exit 0, one valid JSON object, no NaN/inf anywhere,
no negative byte counts or FLOPs, memory totals equal to the sum of the parts the JSON
lists, training FLOPs = 3 x forward FLOPs (PaLM Appendix B), active <= total parameters.
One sizeup process per call; about 4 calls per model (63 models), a few seconds in all.
"""
import json
import math
import subprocess
import unittest

from sizeup_cli import BIN

# Parts that make up train's memory.total_bytes (per GPU; host_bytes lives in CPU memory and
# first/last_stage_bytes/limit_bytes are totals or limits, not parts).
TRAIN_PARTS = ("weights_bytes", "gradients_bytes", "master_bytes", "optimizer_bytes",
               "activations_bytes", "logits_bytes", "communication_bytes", "overhead_bytes",
               "fp8_weight_cache_bytes")
INFER_PARTS = ("weights_bytes", "kv_cache_bytes", "workspace_bytes", "overhead_bytes")


def call(*args):
    res = subprocess.run([BIN, *map(str, args), "--json"], capture_output=True, text=True,
                         timeout=30)
    return res.returncode, res.stdout, res.stderr


def walk(obj, path=""):
    """Yields (path, value) for every scalar in a JSON document."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, f"{path}.{k}" if path else k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, obj


def reject_constant(name):
    raise ValueError(f"non-JSON constant {name}")


class Sweep(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        code, out, err = call("models")
        assert code == 0, err
        cls.models = [m["name"] for m in json.loads(out)["models"]]

    def doc(self, *args):
        code, out, err = call(*args)
        self.assertEqual(code, 0, f"sizeup {' '.join(map(str, args))}: {err}")
        self.assertEqual(err, "", f"{args}: stderr not empty with --json")
        # Python's json accepts NaN/Infinity; a strict parse rejects them.
        doc = json.loads(out, parse_constant=reject_constant)
        for path, v in walk(doc):
            if isinstance(v, float):
                self.assertTrue(math.isfinite(v), f"{args}: {path} = {v}")
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                last = path.rsplit(".", 1)[-1]
                if last.endswith("bytes") or "flops" in path or last in ("gb", "gib"):
                    self.assertGreaterEqual(v, 0, f"{args}: {path} = {v}")
                if last.endswith("_bytes") or last == "bytes":
                    self.assertIsInstance(v, int, f"{args}: {path} = {v} is not an integer")
            if isinstance(v, str):
                low = v.lower()
                for bad in ("nan", "inf"):
                    # whole words only: "info", "inference", "infinite" are fine
                    for word in low.replace("/", " ").replace(",", " ").split():
                        self.assertNotEqual(word.strip("()"), bad, f"{args}: {path} = {v!r}")
        return doc

    def test_params_then_train_tp_pp(self):
        for name in self.models:
            with self.subTest(model=name):
                d = self.doc("params", name)
                p = d["params"]
                self.assertGreater(p["total"], 0)
                self.assertLessEqual(p["active"], p["total"])
                self.assertEqual(p["embedding"] + p["non_embedding"], p["total"])
                self.assertEqual(sum(p["components"].values()), p["total"])
                for w in d["weights"]:
                    self.assertEqual(w["bytes"] * 8, p["total"] * w["bits"], w)
            # The model's shape picks a layout that divides it: tp = 2 where heads and kv heads
            # split, pp = 2 where layers split evenly, dp takes the rest of 8 GPUs.
            m = d["model"]
            tp = 2 if m["n_head"] % 2 == 0 and m.get("n_head_kv", m["n_head"]) % 2 == 0 else 1
            pp = 2 if m["n_layer"] % 2 == 0 else 1
            if m.get("n_attention_layers", m["n_layer"]) < m["n_layer"]:
                # Recurrent (Mamba / DeltaNet) layers: training memory is refused with one line
                # until their saved activations are modelled (docs/families.md).
                code, _, err = call("train", name, "--gpus", 8, "--zero", 1)
                self.assertEqual(code, 2, err)
                self.assertIn("not modelled yet", err)
                continue
            with self.subTest(model=name, tp=tp, pp=pp):
                t = self.train_check([name, "--gpus", 8, "--tp", tp, "--pp", pp, "--zero", 1])
                self.assertEqual((t["layout"]["tp"], t["layout"]["pp"]), (tp, pp))
                self.assertEqual(t["layout"]["dp"], 8 // (tp * pp))

    def test_flops(self):
        for name in self.models:
            with self.subTest(model=name):
                f = self.doc("flops", name)["flops"]
                fwd = f["forward_per_token"]
                self.assertGreater(fwd, 0)
                self.assertAlmostEqual(f["training_per_token"] / fwd, 3.0, places=12)
                self.assertAlmostEqual(f["backward_per_token"] / fwd, 2.0, places=12)
                self.assertAlmostEqual(sum(f["breakdown"].values()) / fwd, 1.0, places=12)
                self.assertEqual(f["hardware_per_token"],
                                 f["training_per_token"] + f["recompute_per_token"])

    def test_infer(self):
        for name in self.models:
            with self.subTest(model=name):
                d = self.doc("infer", name, "--gpu", "h100-sxm")
                mem = d["memory"]
                self.assertEqual(sum(mem[k] for k in INFER_PARTS), mem["total_bytes"], mem)
                self.assertGreater(mem["weights_bytes"], 0)
                self.assertIsInstance(d["fits"], bool)

    def train_check(self, args):
        d = self.doc("train", *args)
        mem = d["memory"]
        self.assertEqual(sum(mem[k] for k in TRAIN_PARTS), mem["total_bytes"], (args, mem))
        self.assertEqual(mem["total_bytes"], max(mem["first_stage_bytes"],
                                                 mem["last_stage_bytes"]), args)
        lay = d["layout"]
        self.assertEqual(lay["dp"] * lay["tp"] * lay["pp"] * lay["cp"], d["gpus"], args)
        self.assertGreater(d["flops"]["per_step"], 0)
        self.assertGreater(d["time"]["step_seconds"], 0)
        self.assertEqual(d["fits"], mem["total_bytes"] <= mem["limit_bytes"], args)
        return d

    def test_train_zero3(self):
        for name in self.models:
            with self.subTest(model=name):
                m = self.doc("params", name)["model"]
                if m.get("n_attention_layers", m["n_layer"]) < m["n_layer"]:
                    continue  # recurrent layers: refused, checked in test_params_then_train_tp_pp
                d = self.train_check([name, "--gpus", 8, "--zero", 3])
                self.assertEqual(d["layout"]["zero"], 3)


if __name__ == "__main__":
    unittest.main()
