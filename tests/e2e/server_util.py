"""Starts `sizeup serve` on a free port for a test, with its log in a temporary file."""
import http.client
import json
import os
import subprocess
import tempfile
import time

from sizeup_cli import BIN


class Server:
    def __init__(self, *args):
        self.log = tempfile.NamedTemporaryFile("w+", prefix="sizeup-serve-", suffix=".log")
        self.proc = subprocess.Popen([BIN, "serve", "--port", "0", *args],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            if self.proc.poll() is not None:
                raise RuntimeError("sizeup serve exited: " + self.log_text())
            for line in self.log_text().splitlines():
                if "listening on http://" in line:
                    self.port = int(line.rsplit(":", 1)[1].strip("/ \n"))
            time.sleep(0.05)
        if self.port is None:
            raise RuntimeError("sizeup serve did not start: " + self.log_text())
        self.url = "http://127.0.0.1:%d" % self.port

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, parsed JSON or text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            data = res.read()
            ctype = res.getheader("Content-Type", "")
            return res.status, json.loads(data) if "json" in ctype else data.decode()
        finally:
            conn.close()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
