"""Helpers for end-to-end tests: run the sizeup binary (env SIZEUP_BIN) and parse JSON."""
import json
import os
import subprocess

BIN = os.environ.get("SIZEUP_BIN", "sizeup")
ROOT = os.environ.get("SIZEUP_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def run(*args):
    """Returns (exit code, stdout, stderr)."""
    res = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=120)
    return res.returncode, res.stdout, res.stderr


def run_json(*args):
    code, out, err = run(*args, "--json")
    if code != 0:
        raise AssertionError(f"sizeup {' '.join(map(str, args))} exited {code}: {err}")
    return json.loads(out)


def assert_input_error(test, args, field):
    """A bad input: exit 2, one stderr line naming the field, {"error": ...} on stdout."""
    code, out, err = run(*args, "--json")
    test.assertEqual(code, 2, f"{args}: {err}")
    lines = err.strip().splitlines()
    test.assertEqual(len(lines), 1, err)
    test.assertTrue(lines[0].startswith("sizeup: error: "), err)
    test.assertIn(f"({field})", lines[0])
    test.assertEqual(json.loads(out)["error"], lines[0][len("sizeup: error: "):])
    test.assertNotIn("nan", out.lower())
