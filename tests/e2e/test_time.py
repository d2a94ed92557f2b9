"""End-to-end: `sizeup time` (C = 6ND, time, GPU-hours, PFLOP-days, cost, energy)."""
import json
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


class TimeTest(unittest.TestCase):
    def assertError(self, args, field):
        rc, out, err = run(*args)
        self.assertEqual(rc, 2, err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("sizeup: error: "), err)
        self.assertIn(f"({field})", lines[0])
        self.assertIn("error", json.loads(out))

    def test_seed_question_70b_15t_1024_h100_mfu_half(self):
        # 6 * 70e9 * 15e12 = 6.3e24 FLOPs; 1024 * 0.5 * 989.4e12 = 5.065728e17 FLOP/s;
        # 12,436,514.55 s = 143.941 days; 3,537,497.5 GPU-hours; 72,916.67 PFLOP-days.
        j = ok("time", "--params", "70B", "--tokens", "15T", "--gpu", "h100-sxm",
               "--gpus", "1024", "--mfu", "0.5")
        self.assertEqual(j["total_flops"], 6.3e24)
        self.assertAlmostEqual(j["seconds"], 12436514.554, places=2)
        self.assertAlmostEqual(j["days"], 143.94114, places=4)
        self.assertAlmostEqual(j["gpu_hours"], 3537497.473, places=2)
        self.assertAlmostEqual(j["pflop_days"], 72916.6667, places=3)
        self.assertEqual(j["gpu"]["peak_flops_per_s"], 989.4e12)
        self.assertEqual(j["gpu"]["peak_dtype"], "bf16")
        self.assertIsNone(j["cost_usd"])
        # Energy at 700 W board power, PUE 1.0: 700 * 3,537,497.47 / 1000 kWh.
        self.assertAlmostEqual(j["energy_kwh"], 2476248.231, places=2)

    def test_default_mfu_is_stated(self):
        j = ok("time", "--params", "7B", "--tokens", "1T", "--gpu", "a100-80gb", "--gpus", "8")
        self.assertEqual(j["mfu"], 0.4)
        self.assertTrue(any("MFU 0.4 assumed" in n for n in j["notes"]))
        # 6 * 7e9 * 1e12 / (8 * 0.4 * 312e12) = 42,067,307.7 s
        self.assertAlmostEqual(j["seconds"], 42067307.69, places=1)

    def test_cost_energy_emissions(self):
        j = ok("time", "--params", "70B", "--tokens", "15T", "--gpu", "h100-sxm", "--gpus",
               "1024", "--mfu", "0.5", "--price-per-gpu-hour", "2", "--pue", "1.1",
               "--grid-intensity", "0.4")
        self.assertAlmostEqual(j["cost_usd"], 2 * 3537497.4732, places=2)
        self.assertAlmostEqual(j["energy_kwh"], 2723873.054, places=2)
        self.assertAlmostEqual(j["emissions_kg"], 1089549.222, places=2)

    def test_model_with_seq_adds_attention_variant(self):
        j = ok("time", "llama-2-7b", "--tokens", "2T", "--gpu", "a100-80gb", "--gpus", "2048",
               "--mfu", "0.5", "--seq", "4096")
        # Llama-2-7B: 6,738,415,616 parameters; attention 12*32*32*128*4096 per token.
        self.assertEqual(j["params"], 6738415616)
        self.assertEqual(j["total_flops"], 6 * 6738415616 * 2e12)
        attn = 12 * 32 * 32 * 128 * 4096
        self.assertAlmostEqual(j["with_attention"]["total_flops"] / ((6 * 6738415616 + attn) * 2e12), 1, places=12)

    def test_params_with_shape_flags(self):
        j = ok("time", "--params", "70B", "--tokens", "15T", "--gpu", "h100-sxm", "--gpus", "1024",
               "--mfu", "0.5", "--layers", "80", "--heads", "64", "--head-dim", "128", "--seq", "4096")
        self.assertEqual(j["with_attention"]["total_flops"], (420e9 + 32212254720) * 15e12)

    def test_achieved_flops(self):
        j = ok("time", "--params", "20B", "--tokens", "400B", "--gpu", "a100-80gb", "--gpus", "96",
               "--achieved-flops", "150T")
        self.assertAlmostEqual(j["mfu"], 150 / 312, places=12)
        self.assertAlmostEqual(j["seconds"], 6 * 20e9 * 400e9 / (96 * 150e12), places=3)

    def test_custom_gpu(self):
        j = ok("time", "--params", "1B", "--tokens", "20B", "--gpu", "custom", "--peak-tflops", "100",
               "--gpu-power", "300", "--mfu", "0.5")
        self.assertAlmostEqual(j["seconds"], 6 * 1e9 * 20e9 / 50e12, places=6)
        self.assertAlmostEqual(j["energy_kwh"], 300 * j["gpu_hours"] / 1000, places=9)

    def test_fp8_precision_uses_fp8_peak(self):
        j = ok("time", "--params", "70B", "--tokens", "15T", "--gpu", "h100-sxm", "--precision", "fp8",
               "--mfu", "0.5")
        self.assertEqual(j["gpu"]["peak_flops_per_s"], 1978.9e12)

    def test_huge_inputs(self):
        j = ok("time", "--params", "1e13", "--tokens", "1e15", "--gpu", "b200", "--gpus", "100000")
        self.assertEqual(j["total_flops"], 6e28)
        self.assertAlmostEqual(j["seconds"], 6e28 / (1e5 * 0.4 * 2250e12), delta=1)

    def test_bad_inputs(self):
        base = ["time", "--params", "70B", "--tokens", "15T", "--gpu", "h100-sxm"]
        self.assertError(base + ["--mfu", "0"], "--mfu")
        self.assertError(base + ["--mfu", "1.2"], "--mfu")
        self.assertError(base + ["--mfu", "-0.5"], "--mfu")
        self.assertError(base + ["--gpus", "0"], "--gpus")
        self.assertError(base + ["--gpus", "-8"], "--gpus")
        self.assertError(["time", "--params", "70B", "--tokens", "15T", "--gpu", "h900"], "--gpu")
        self.assertError(["time", "--params", "-1", "--tokens", "15T", "--gpu", "h100-sxm"], "--params")
        self.assertError(["time", "--params", "70B", "--gpu", "h100-sxm"], "--tokens")
        self.assertError(base + ["--achieved-flops", "2000T"], "--achieved-flops")
        self.assertError(base + ["--precision", "fp4"], "--precision")
        self.assertError(["time", "--params", "70B", "--tokens", "15T", "--gpu", "v100-32gb"], "--precision")
        self.assertError(base + ["--pue", "0.5"], "--pue")
        self.assertError(["time", "--params", "1e300", "--tokens", "1e300", "--gpu", "h100-sxm"], "--params")

    def test_explain_has_formula_and_source(self):
        p = subprocess.run([BIN, "time", "--params", "70B", "--tokens", "15T", "--gpu", "h100-sxm",
                            "--gpus", "1024", "--mfu", "0.5", "--explain"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("`6 * N * D`", p.stdout)
        self.assertIn("Kaplan et al. 2020", p.stdout)
        self.assertIn("143.941", p.stdout)
        self.assertNotIn("nan", p.stdout.lower())
        self.assertNotIn("inf ", p.stdout.lower())


if __name__ == "__main__":
    unittest.main()
