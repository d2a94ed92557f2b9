"""End-to-end: `sizeup chinchilla` (D = 20N, Approach 3, Kaplan, inference-aware)."""
import json
import math
import os
import subprocess
import unittest

BIN = os.environ.get("SIZEUP_BIN", "sizeup")


def run(*args):
    p = subprocess.run([BIN, *args, "--json"], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def ok(*args):
    rc, out, err = run(*args)
    assert rc == 0, f"{args}: rc {rc}: {err}"
    return json.loads(out)


def loss(n, d):
    return 1.69 + 406.4 / n ** 0.34 + 410.7 / d ** 0.28


class ChinchillaTest(unittest.TestCase):
    def assertError(self, args, field):
        rc, out, err = run(*args)
        self.assertEqual(rc, 2, err)
        self.assertTrue(err.startswith("sizeup: error: "), err)
        self.assertIn(f"({field})", err)
        self.assertIn("error", json.loads(out))

    def test_seed_d_equals_20p(self):
        j = ok("chinchilla", "--params", "70B")
        self.assertEqual(j["tokens"], 1.4e12)
        self.assertAlmostEqual(j["compute_flops"] / 5.88e23, 1, places=12)
        self.assertAlmostEqual(j["loss"], loss(70e9, 1.4e12), places=12)

    def test_compute_budget(self):
        j = ok("chinchilla", "--compute", "5.76e23")
        self.assertAlmostEqual(j["params"] / math.sqrt(5.76e23 / 120), 1, places=12)
        a3 = j["approach3"]
        g = (0.34 * 406.4 / (0.28 * 410.7)) ** (1 / 0.62)
        n = g * (5.76e23 / 6) ** (0.28 / 0.62)
        self.assertAlmostEqual(a3["params"] / n, 1, places=10)
        self.assertAlmostEqual(a3["tokens"] / (9.6e22 / n), 1, places=10)
        self.assertAlmostEqual(a3["loss"], loss(n, 9.6e22 / n), places=10)
        k = j["kaplan"]
        self.assertAlmostEqual(k["params"] / (1.3e9 * (5.76e23 / 8.64e19) ** 0.73), 1, places=10)

    def test_method_approach3_moves_top_level(self):
        j = ok("chinchilla", "--compute", "1e24", "--method", "approach3")
        self.assertEqual(j["params"], j["approach3"]["params"])
        self.assertEqual(j["method"], "approach3")

    def test_inference_tokens(self):
        j = ok("chinchilla", "--compute", "5.76e23", "--inference-tokens", "10T")
        io = j["inference_optimal"]
        self.assertLess(io["params"], j["approach3"]["params"])
        self.assertGreater(io["tokens"], j["approach3"]["tokens"])
        self.assertAlmostEqual(io["loss"], j["approach3"]["loss"], places=9)
        self.assertLess(io["total_flops"], io["reference_total_flops"])
        self.assertAlmostEqual(io["total_flops"], 6 * io["params"] * io["tokens"] + 2 * io["params"] * 10e12,
                               delta=1e-9 * io["total_flops"])

    def test_huge_and_tiny(self):
        for args in (["--compute", "1e27"], ["--tokens", "1e15"], ["--params", "1e13"], ["--compute", "1e6"],
                     ["--compute", "1e27", "--inference-tokens", "1e18"]):
            j = ok("chinchilla", *args)
            for key in ("params", "tokens", "compute_flops", "loss"):
                self.assertTrue(math.isfinite(j[key]) and j[key] > 0, (args, key))

    def test_bad_inputs(self):
        self.assertError(["chinchilla"], "--compute")
        self.assertError(["chinchilla", "--compute", "0"], "--compute")
        self.assertError(["chinchilla", "--params", "-3B"], "--params")
        self.assertError(["chinchilla", "--compute", "1e24", "--tokens", "1T"], "--compute")
        self.assertError(["chinchilla", "--compute", "1e24", "--inference-tokens", "-1"], "--inference-tokens")
        self.assertError(["chinchilla", "--compute", "1e24", "--method", "kaplan"], "--method")


if __name__ == "__main__":
    unittest.main()
