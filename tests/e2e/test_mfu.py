"""End-to-end: `sizeup mfu` (PaLM MFU and HFU from measured throughput)."""
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


class MfuTest(unittest.TestCase):
    def assertError(self, args, field):
        rc, out, err = run(*args)
        self.assertEqual(rc, 2, err)
        self.assertTrue(err.startswith("sizeup: error: "), err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        self.assertIn(f"({field})", err)
        self.assertIn("error", json.loads(out))

    def test_neox_150_tflops_per_a100(self):
        # Seed 004: 150 TFLOP/s/A100. 20B at 1,250 tokens/s/GPU: 6*20e9*1250 = 150e12 = 48.08%.
        j = ok("mfu", "--params", "20B", "--tokens-per-second", "1250", "--per-gpu",
               "--gpu", "a100-80gb", "--gpus", "64")
        self.assertAlmostEqual(j["mfu"], 150 / 312, places=12)
        self.assertAlmostEqual(j["hfu"], 150 / 312, places=12)
        self.assertEqual(j["tokens_per_second"], 80000)

    def test_total_and_per_gpu_agree(self):
        a = ok("mfu", "--params", "20B", "--tokens-per-second", "80k", "--gpu", "a100-80gb", "--gpus", "64")
        b = ok("mfu", "--params", "20B", "--tokens-per-second", "1250", "--per-gpu", "--gpu", "a100-80gb", "--gpus", "64")
        self.assertEqual(a["mfu"], b["mfu"])

    def test_step_time_with_palm_attention_and_full_recompute(self):
        # llama-2-7b (N = 6,738,415,616), 1024 x 4096 tokens in 10 s on 256 H100 (989.4e12).
        # tokens/s = 419,430.4; model/token = 6N + 12*32*32*128*4096 = 40,430,493,696 + 6,442,450,944.
        # full recompute adds 2N + 4*32*32*128*4096 = 13,476,831,232 + 2,147,483,648.
        j = ok("mfu", "llama-2-7b", "--seq", "4096", "--global-batch", "1024", "--step-seconds", "10",
               "--gpu", "h100-sxm", "--gpus", "256", "--recompute", "full")
        model = 40430493696 + 6442450944
        hw = model + 13476831232 + 2147483648
        self.assertEqual(j["model_flops_per_token"], model)
        self.assertEqual(j["hardware_flops_per_token"], hw)
        self.assertAlmostEqual(j["mfu"], 419430.4 * model / (256 * 989.4e12), places=12)
        self.assertAlmostEqual(j["hfu"], 419430.4 * hw / (256 * 989.4e12), places=12)

    def test_selective_recompute_adds_attention_forward_only(self):
        j = ok("mfu", "--params", "7B", "--layers", "32", "--heads", "32", "--head-dim", "128",
               "--seq", "2048", "--tokens-per-second", "3000", "--per-gpu", "--gpu", "h100-sxm",
               "--recompute", "selective")
        attn = 12 * 32 * 32 * 128 * 2048
        self.assertEqual(j["model_flops_per_token"], 42e9 + attn)
        self.assertEqual(j["hardware_flops_per_token"], 42e9 + attn + attn / 3)

    def test_bad_inputs(self):
        self.assertError(["mfu", "--params", "70B", "--gpu", "h100-sxm"], "--tokens-per-second")
        self.assertError(["mfu", "--params", "70B", "--gpu", "h100-sxm", "--tokens-per-second", "1e9"], "--tokens-per-second")
        self.assertError(["mfu", "--params", "70B", "--gpu", "h100-sxm", "--tokens-per-second", "0"], "--tokens-per-second")
        self.assertError(["mfu", "--params", "70B", "--gpu", "nope", "--tokens-per-second", "10"], "--gpu")
        self.assertError(["mfu", "--params", "70B", "--gpu", "h100-sxm", "--step-seconds", "2",
                          "--global-batch", "8"], "--seq")
        self.assertError(["mfu", "--params", "70B", "--gpu", "h100-sxm", "--tokens-per-second", "10",
                          "--recompute", "some"], "--recompute")

    def test_huge_cluster(self):
        j = ok("mfu", "--params", "1e13", "--tokens-per-second", "1e6", "--gpu", "b200", "--gpus", "100000")
        self.assertAlmostEqual(j["mfu"], 6e13 * 1e6 / (1e5 * 2250e12), places=12)


if __name__ == "__main__":
    unittest.main()
