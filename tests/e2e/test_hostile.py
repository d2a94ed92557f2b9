"""Regression tests for what a campaign of hostile invocations found (issue 8, item 5)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sizeup_cli import BIN, ROOT, assert_input_error, run, run_json  # noqa: E402


def run_bytes(*args):
    res = subprocess.run([BIN, *args], capture_output=True, timeout=60)
    return res.returncode, res.stdout, res.stderr


class Hostile(unittest.TestCase):
    def test_non_utf8_argument_with_json_is_an_error_not_an_abort(self):
        code, out, err = run_bytes("flops", b"\xff\xfe", "--json")
        self.assertEqual(code, 2, err)
        message = json.loads(out.decode("utf-8"))["error"]
        self.assertIn("\\xff\\xfe", message)
        self.assertEqual(len(err.splitlines()), 1)

    def test_config_in_a_non_utf8_directory(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = os.path.join(tmp.encode(), b"model-\xff")
            os.mkdir(d)
            shutil.copy(os.path.join(ROOT, "data", "models", "gpt2.json"),
                        os.path.join(d, b"entry.json"))
            with open(os.path.join(ROOT, "data", "models", "gpt2.json")) as f:
                config = json.load(f)["config"]
            with open(os.path.join(d, b"config.json"), "w") as f:
                json.dump(config, f)
            code, out, err = run_bytes("params", d, "--json")
            self.assertEqual(code, 0, err)
            j = json.loads(out.decode("utf-8"))
            self.assertEqual(j["params"]["total"], 124439808)  # GPT-2 small, HF count

    def test_errors_are_one_line_even_with_a_newline_in_the_value(self):
        code, out, err = run("params", "a\nb")
        self.assertEqual(code, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("a\\nb", err)

    def test_deeply_nested_config_is_refused_at_once(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write("[" * 1_000_000)
        try:
            assert_input_error(self, ["params", f.name], "config.json")
        finally:
            os.unlink(f.name)

    def test_a_failed_write_is_an_error(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        with open("/dev/full", "w") as full:
            res = subprocess.run([BIN, "params", "llama-3-8b"], stdout=full,
                                 stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(res.returncode, 1)
        self.assertIn("output not written", res.stderr)

    def test_help_lists_every_command(self):
        code, out, _ = run("--help")
        self.assertEqual(code, 0)
        for command in ["params", "infer", "train", "fit", "flops", "activations", "time", "mfu",
                        "chinchilla", "report", "models", "gpus", "dtypes", "bench"]:
            self.assertIn(f"  {command} ", out)

    def test_gpu_names_resolve_where_unambiguous(self):
        for name, expected in [("h100", "h100-sxm"), ("H100", "h100-sxm"), ("4090", "rtx-4090"),
                               ("RTX 4090", "rtx-4090"), ("mi300", "mi300x")]:
            self.assertEqual(run_json("gpus", name)["gpu"]["name"], expected, name)
        code, _, err = run("gpus", "a100")
        self.assertEqual(code, 2)
        self.assertIn("a100-40gb, a100-80gb, a100-pcie-80gb", err)

    def test_custom_gpu_without_memory_is_an_error_wherever_memory_is_asked(self):
        custom = ["--gpu", "custom", "--peak-tflops", "100", "--bandwidth", "2TB",
                  "--intra-node-bandwidth", "100GB", "--inter-node-bandwidth", "10GB"]
        for args in (["train", "llama-3-70b"], ["fit"], ["infer", "llama-3-8b"],
                     ["plan", "llama-3-8b", "--gpus", "8", "--global-batch", "16"]):
            assert_input_error(self, args + custom, "--gpu-memory")
        # time needs no memory: a custom accelerator is enough.
        self.assertGreater(run_json("time", "--params", "7B", "--tokens", "1T",
                                    *custom[:4])["days"], 0)

    def test_missing_link_figures_name_their_option(self):
        custom = ["--gpu", "custom", "--peak-tflops", "100", "--gpu-memory", "80GiB",
                  "--bandwidth", "2TB"]
        assert_input_error(self, ["plan", "llama-3-8b", "--gpus", "8", "--global-batch", "16",
                                  *custom], "--intra-node-bandwidth")
        # train answers memory with the MFU assumption for the time, and says so.
        j = run_json("train", "llama-3-8b", *custom)
        self.assertEqual(j["mfu"], 0.4)
        self.assertTrue(any("step-time model needs" in n for n in j["notes"]), j["notes"])

    def test_byte_totals_are_exact_sums_or_refused(self):
        args = ["infer", "qwen1.5-moe-a2.7b", "--gpu", "tpu-v5e", "--gpus", "2", "--dtype", "int8"]
        assert_input_error(self, args + ["--batch", "1e6", "--context", "1e7"], "--context")
        m = run_json(*args, "--batch", "1e4", "--context", "1e6")["memory"]
        self.assertEqual(m["weights_bytes"] + m["kv_cache_bytes"] + m["workspace_bytes"] +
                         m["overhead_bytes"], m["total_bytes"])
        self.assertGreater(m["total_bytes"], 2 ** 40)

    def test_unknown_names_suggest_the_nearest(self):
        code, _, err = run("params", "llama-3-8")
        self.assertEqual(code, 2)
        self.assertIn("did you mean llama-3-8b", err)
        code, _, err = run("infer", "llama-3-8b", "--gpu", "h100-sxn")
        self.assertEqual(code, 2)
        self.assertIn("did you mean h100-sxm", err)


if __name__ == "__main__":
    unittest.main()
