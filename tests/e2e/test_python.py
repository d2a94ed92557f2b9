"""The Python module (`import sizeup`, built into build/<preset>/python): each command's
function answers the dict `sizeup <command> --json` prints, and bad input raises
sizeup.InputError naming the field."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from api_samples import cli, sample  # noqa: E402
from sizeup_cli import BIN, run_json  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(BIN)), "python"))
import sizeup  # noqa: E402

MUST_ANSWER = ["models", "params", "gpus", "dtypes"]


class PythonModuleTest(unittest.TestCase):
    def test_built_for_debian_python(self):
        self.assertEqual(sys.executable, "/usr/bin/python3")
        self.assertTrue(sizeup._sizeup.__file__.endswith(".so"))

    def test_every_command_equals_the_cli(self):
        specs = {c["name"]: c for c in sizeup.commands()}
        for name in MUST_ANSWER:
            self.assertIn(name, specs)
        for name, spec in specs.items():
            with self.subTest(command=name):
                request = sample(spec)
                self.assertTrue(callable(getattr(sizeup, name)), name)
                code, want = cli(spec, request)
                try:
                    got = getattr(sizeup, name)(**request)
                except sizeup.InputError as e:
                    self.assertNotIn(name, MUST_ANSWER, e.message)
                    self.assertEqual(code, 2, want)
                    self.assertIn(e.message.split(" (")[0], want["error"])
                    continue
                self.assertEqual(code, 0, want)
                self.assertEqual(got, want)
                self.assertEqual(sizeup.run(name, **request), want)

    def test_positional_model_and_keywords(self):
        a = sizeup.params("llama-2-7b")
        self.assertEqual(a, sizeup.params(model="meta-llama/Llama-2-7b-hf"))
        # Llama 2 7B: 6,738,415,616 parameters (HF num_parameters())
        self.assertEqual(a["params"]["total"], 6738415616)
        self.assertIsInstance(a, dict)

    def test_explain_and_jupyter_forms(self):
        r = sizeup.params("llama-3-8b", explain=True)
        self.assertEqual(r, run_json("params", "llama-3-8b", "--explain"))
        self.assertTrue(r._repr_markdown_().startswith("## llama-3-8b"))
        self.assertIn("8,030,261,248", str(r))

    def test_uploaded_config_dict(self):
        config = {"model_type": "gpt2", "n_layer": 2, "n_embd": 128, "n_head": 4,
                  "vocab_size": 1000, "n_positions": 256}
        r = sizeup.params(config=config)
        # GPT-2 per layer: 12 d^2 + 13 d (QKV/out/MLP weights and biases, two LayerNorms);
        # embeddings V d + P d (tied head); final LayerNorm 2 d
        d = 128
        self.assertEqual(r["params"]["total"], 2 * (12 * d * d + 13 * d) + 1000 * d + 256 * d + 2 * d)

    def test_errors_raise_with_the_field(self):
        cases = [
            (lambda: sizeup.params("no-such-model"), "model"),
            (lambda: sizeup.params("llama-3-8b", micro_batch=2), "micro_batch"),
            (lambda: sizeup.run("no_such_command"), "command"),
            (lambda: sizeup.params(layers=-1, hidden=64, heads=4, vocab=100, ffn=256), "layers"),
            (lambda: sizeup.params(config={"model_type": "llama", "hidden_size": "x"}), None),
            (lambda: sizeup.params("llama-3-8b", "extra"), "arguments"),
            (lambda: sizeup.params(layers=float("nan")), "options"),
        ]
        for call, field in cases:
            with self.assertRaises(sizeup.InputError) as ctx:
                call()
            if field:
                self.assertEqual(ctx.exception.field, field, ctx.exception.message)
            else:
                self.assertTrue(ctx.exception.field.startswith("config"), ctx.exception.field)
            self.assertTrue(ctx.exception.message)
            self.assertIsInstance(ctx.exception, ValueError)


if __name__ == "__main__":
    unittest.main()
