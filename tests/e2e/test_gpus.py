"""End-to-end: `sizeup gpus` (catalog, one device, custom accelerators)."""
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


class GpusTest(unittest.TestCase):
    def test_catalog(self):
        j = ok("gpus")
        self.assertEqual(len(j["gpus"]), 25)
        by = {g["name"]: g for g in j["gpus"]}
        self.assertEqual(by["h100-sxm"]["peak_flops_per_s"]["bf16"], 989.4e12)
        self.assertEqual(by["h100-sxm"]["memory_bytes"], 85899345920)
        self.assertEqual(by["a100-80gb"]["peak_flops_per_s"]["bf16"], 312e12)
        for g in j["gpus"]:
            self.assertIsInstance(g["memory_bytes"], int)
            self.assertAlmostEqual(g["memory_gib"], g["memory_bytes"] / 2**30)
            self.assertTrue(g["source"])

    def test_one_device(self):
        j = ok("gpus", "H100-SXM")["gpu"]
        self.assertEqual(j["name"], "h100-sxm")
        self.assertEqual(j["memory_gib"], 80)
        self.assertAlmostEqual(j["memory_gb"], 85.89934592)
        self.assertEqual(j["board_power_watts"], 700)

    def test_custom_device(self):
        j = ok("gpus", "custom", "--peak-tflops", "500", "--gpu-memory", "96GiB", "--bandwidth", "4TB/s",
               "--gpu-power", "800")["gpu"]
        self.assertEqual(j["memory_bytes"], 96 * 2**30)
        self.assertEqual(j["memory_bandwidth_bytes_per_s"], 4e12)
        self.assertEqual(j["peak_flops_per_s"]["bf16"], 500e12)
        self.assertEqual(j["board_power_watts"], 800)

    def test_text_labels_units(self):
        p = subprocess.run([BIN, "gpus"], capture_output=True, text=True)
        self.assertIn("GiB", p.stdout)
        self.assertIn("GB", p.stdout)
        self.assertIn("dense", p.stdout)

    def test_errors(self):
        rc, out, err = run("gpus", "h900")
        self.assertEqual(rc, 2)
        self.assertTrue(err.startswith("sizeup: error: unknown accelerator (NAME)"), err)
        rc, out, err = run("gpus", "--gpu", "h900")
        self.assertIn("(--gpu)", err)
        rc, out, err = run("gpus", "custom", "--peak-tflops", "500", "--gpu-memory", "lots")
        self.assertEqual(rc, 2)
        self.assertIn("(--gpu-memory)", err)
        rc, out, err = run("gpus", "h100-sxm", "--peak-tflops", "500")
        self.assertEqual(rc, 2)
        self.assertIn("(--peak-tflops)", err)


if __name__ == "__main__":
    unittest.main()
