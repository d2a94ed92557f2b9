"""End-to-end: `sizeup bench` (OpenBLAS matmul timing, fraction of the CPU's peak)."""
import unittest

from sizeup_cli import assert_input_error, run, run_json


class BenchTest(unittest.TestCase):
    def test_small_run_reports_consistent_figures(self):
        j = run_json("bench", "--sizes", "64,128", "--repeats", "3", "--dtype", "both",
                     "--ghz", "2", "--fma-units", "2", "--vector-bits", "256", "--cores", "1")
        # Peak from the given CPU: 1 core * 2e9 * 2 units * 8 fp32 lanes * 2 = 64e9; fp64 half.
        self.assertEqual(j["peak_flops_per_s"]["fp32"], 64e9)
        self.assertEqual(j["peak_flops_per_s"]["fp64"], 32e9)
        self.assertEqual(len(j["results"]), 4)
        for r in j["results"]:
            self.assertEqual(r["flops"], 2 * r["n"] ** 3)
            self.assertGreater(r["median_seconds"], 0)
            self.assertAlmostEqual(r["achieved_flops_per_s"], r["flops"] / r["median_seconds"],
                                   delta=1e-9 * r["achieved_flops_per_s"])
            peak = j["peak_flops_per_s"][r["dtype"]]
            self.assertAlmostEqual(r["fraction_of_peak"], r["achieved_flops_per_s"] / peak)
        self.assertEqual(j["mfu"], max(r["fraction_of_peak"] for r in j["results"]))

    def test_progress_goes_to_stderr_not_stdout(self):
        code, out, err = run("bench", "--sizes", "32", "--repeats", "1", "--dtype", "fp32")
        self.assertEqual(code, 0, err)
        self.assertIn("[1/1] fp32 32x32x32", err)
        self.assertIn("GFLOP/s", out)

    def test_bad_inputs(self):
        assert_input_error(self, ["bench", "--sizes", "0"], "--sizes")
        assert_input_error(self, ["bench", "--sizes", "100000"], "--sizes")
        assert_input_error(self, ["bench", "--repeats", "0"], "--repeats")
        assert_input_error(self, ["bench", "--dtype", "fp16"], "--dtype")
        assert_input_error(self, ["bench", "--ghz", "0", "--sizes", "8"], "--ghz")
        assert_input_error(self, ["bench", "--vector-bits", "100"], "--vector-bits")


if __name__ == "__main__":
    unittest.main()
