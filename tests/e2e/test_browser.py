"""The page in a real browser: tests/browser/page.mjs (playwright-core from web/package-lock.json,
installed into the build tree by the CMake build) drives Debian's chromium against
`sizeup serve` and saves build/<preset>/browser/page.png."""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server_util import Server  # noqa: E402
from sizeup_cli import BIN, ROOT  # noqa: E402

BUILD = os.path.dirname(os.path.abspath(BIN))
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")


class BrowserTest(unittest.TestCase):
    def test_page(self):
        modules = os.path.join(BUILD, "web", "node_modules")
        self.assertTrue(os.path.isdir(os.path.join(modules, "playwright-core")),
                        "playwright-core is installed by the build (npm ci)")
        self.assertTrue(os.path.exists(CHROMIUM), "chromium (scripts/test-packages.txt)")
        out_dir = os.path.join(BUILD, "browser")
        os.makedirs(out_dir, exist_ok=True)
        shot = os.path.join(out_dir, "page.png")
        if os.path.exists(shot):
            os.remove(shot)
        # The script is copied next to node_modules so that Node resolves playwright-core.
        script = os.path.join(BUILD, "web", "page-test.mjs")
        shutil.copyfile(os.path.join(ROOT, "tests", "browser", "page.mjs"), script)
        server = Server()
        try:
            res = subprocess.run(["node", script, server.url + "/", shot], capture_output=True,
                                 text=True, timeout=240, env=dict(os.environ, CHROMIUM=CHROMIUM))
        finally:
            server.stop()
        print(res.stdout, res.stderr, file=sys.stderr)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertGreater(os.path.getsize(shot), 10000)


if __name__ == "__main__":
    unittest.main()
