"""sizeup serve: every endpoint against `sizeup <command> --json` for the same request, and
bad requests (malformed or deep JSON, wrong types, huge numbers, non-UTF-8 bytes, oversized
bodies, unknown routes, slow clients), after each of which the server still answers; then
1,000 requests from 32 concurrent clients, every answer checked."""
import concurrent.futures
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from api_samples import cli, sample  # noqa: E402
from server_util import Server  # noqa: E402
from sizeup_cli import run_json  # noqa: E402

# Commands already on the engine when this test was written: each must answer 200.
MUST_ANSWER = ["models", "params", "gpus", "dtypes"]


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--read-timeout", "1", "--max-body-bytes", "65536")
        status, body = cls.server.request("GET", "/api/commands")
        assert status == 200, body
        cls.specs = {c["name"]: c for c in body["commands"]}

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def post(self, command, body, query=""):
        return self.server.request("POST", "/api/" + command + query, body)

    def assert_alive(self):
        status, body = self.server.request("GET", "/api/gpus")
        self.assertEqual(status, 200)
        self.assertEqual(body, run_json("gpus"))

    def assert_error(self, status, body, want_status, field):
        self.assertEqual(status, want_status, body)
        self.assertEqual(set(body), {"error"}, body)
        self.assertEqual(body["error"]["field"], field, body)
        self.assertTrue(body["error"]["message"], body)
        self.assert_alive()

    def test_every_command_answers_as_the_cli(self):
        for name in MUST_ANSWER:
            self.assertIn(name, self.specs)
        for name, spec in self.specs.items():
            with self.subTest(command=name):
                request = sample(spec)
                status, body = self.post(name, request)
                code, want = cli(spec, request)
                if name in MUST_ANSWER:
                    self.assertEqual(status, 200, body)
                if status == 200:
                    self.assertEqual(code, 0, want)
                    self.assertEqual(body, want)
                else:  # the same request is refused by both, for the same option
                    self.assertEqual(status, 400, body)
                    self.assertEqual(code, 2, want)
                    self.assertIn(body["error"]["message"].split(" (")[0], want["error"])

    def test_get_lists(self):
        for name in ["models", "gpus", "dtypes"]:
            status, body = self.server.request("GET", "/api/" + name)
            self.assertEqual(status, 200)
            self.assertEqual(body, run_json(name))
        self.assertGreater(len(self.server.request("GET", "/api/models")[1]["models"]), 10)

    def test_explain_adds_the_derivations(self):
        status, body = self.post("params", {"model": "llama-3-8b"}, "?explain=1")
        self.assertEqual(status, 200)
        self.assertEqual(body, run_json("params", "llama-3-8b", "--explain"))
        self.assertIn("embed_tokens.weight", body["explain"])

    def test_rows_carry_display_and_derivation(self):
        status, body = self.post("params", {"model": "llama-3-8b"}, "?rows=1")
        self.assertEqual(status, 200)
        rows = {r["key"]: r for s in body.pop("report")["sections"] for r in s["rows"]}
        self.assertEqual(body, run_json("params", "llama-3-8b"))
        self.assertEqual(rows["params.total"]["value"], 8030261248)
        self.assertEqual(rows["params.total"]["display"], "8,030,261,248")
        # 128256 x 4096 token embedding (Llama 3 vocabulary, hidden size)
        self.assertEqual(rows["params.components.token_embedding"]["value"], 128256 * 4096)
        self.assertIn("128256", rows["params.components.token_embedding"]["substituted"])

    def test_uploaded_config(self):
        config = {"model_type": "llama", "hidden_size": 1024, "intermediate_size": 4096,
                  "num_hidden_layers": 2, "num_attention_heads": 16, "num_key_value_heads": 16,
                  "vocab_size": 1000, "max_position_embeddings": 512, "tie_word_embeddings": False}
        status, body = self.post("params", {"config": config})
        self.assertEqual(status, 200, body)
        # per layer: 4 x 1024^2 attention + 3 x 1024 x 4096 MLP + 2 norms of 1024;
        # embeddings 2 x 1000 x 1024 (untied); final norm 1024
        per_layer = 4 * 1024 * 1024 + 3 * 1024 * 4096 + 2 * 1024
        self.assertEqual(body["params"]["total"], 2 * per_layer + 2 * 1000 * 1024 + 1024)
        status, body = self.post("params", {"config": dict(config, hidden_size=-5)})
        self.assertEqual(status, 400)
        self.assertTrue(body["error"]["field"].startswith("config"), body)

    def test_bad_requests_name_the_field(self):
        cases = [
            ("malformed JSON", '{"model": ', 400, "body"),
            ("not an object", "[1, 2]", 400, "body"),
            ("deep nesting", "[" * 10000, 400, "body"),
            ("number beyond double", '{"model": 1e400}', 400, "body"),
            ("non-UTF-8 bytes", b'{"model": "\xff\xfe"}', 400, "body"),
            ("wrong type", {"model": ["llama-3-8b"]}, 400, "model"),
            ("unknown option", {"model": "llama-3-8b", "micro_batch": 2}, 400, "micro_batch"),
            ("huge count", {"layers": 1e300, "hidden": 1024, "heads": 16, "vocab": 1000,
                            "ffn": 4096}, 400, "layers"),
            ("huge integer", {"layers": 123456789012345678901234567890, "hidden": 1024,
                              "heads": 16, "vocab": 1000, "ffn": 4096}, 400, "layers"),
            ("model not in the catalog (no file reads)", {"model": "/etc/passwd"}, 400, "model"),
            ("a number as model names no file", {"model": 5}, 400, "model"),
            ("contradictory model", {"model": "llama-3-8b", "layers": 2}, 400, "model"),
        ]
        for what, body, want, field in cases:
            with self.subTest(what):
                status, answer = self.post("params", body)
                self.assert_error(status, answer, want, field)

    def test_unknown_routes(self):
        for method, path in [("GET", "/nope"), ("POST", "/api/nope"), ("GET", "/api/nope"),
                             ("POST", "/"), ("GET", "/api/params/x"), ("GET", "/../etc/passwd")]:
            with self.subTest(path=path, method=method):
                status, body = self.server.request(method, path, "{}" if method == "POST" else None)
                self.assertEqual(status, 404, body)
                self.assert_alive()

    def test_other_methods(self):
        for method in ["PUT", "DELETE", "PATCH"]:
            status, body = self.server.request(method, "/api/params", "{}")
            self.assert_error(status, body, 405, "method")

    def test_oversized_body(self):
        big = json.dumps({"model": "llama-3-8b", "pad": "x" * 70000})
        status, body = self.post("params", big)
        self.assert_error(status, body, 413, "body")
        # The same body sent in chunks (no Content-Length to refuse it by).
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as s:
            data = big.encode()
            s.sendall(b"POST /api/params HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      b"Connection: close\r\n\r\n" + b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:200])
        self.assertIn(b'"field": "body"', answer)
        self.assert_alive()

    def test_slow_client_is_dropped(self):
        # Headers promise 100 bytes of body; one is sent, then nothing: the server (started
        # with --read-timeout 1) closes the connection instead of waiting forever.
        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.sendall(b"POST /api/params HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            s.settimeout(15)
            start = time.time()
            data = s.recv(4096)
            while data and not data.endswith(b"\r\n\r\n") and b"\r\n\r\n" not in data:
                data += s.recv(4096)
            self.assertLess(time.time() - start, 10)
        self.assertTrue(data == b"" or data.startswith(b"HTTP/1.1 4"), data[:100])
        self.assert_alive()

    def test_the_page_is_served(self):
        status, html = self.server.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn('<script src="app.js"></script>', html)
        for path in ["/app.js", "/style.css", "/uPlot.iife.min.js", "/uPlot.min.css"]:
            status, text = self.server.request("GET", path)
            self.assertEqual(status, 200, path)
            self.assertGreater(len(text), 100, path)
        self.assertIn("uPlot", self.server.request("GET", "/uPlot.iife.min.js")[1])

    def test_logs_one_line_per_request(self):
        # A line is written once the answer is sent: let earlier tests' lines arrive first.
        time.sleep(0.5)
        before = self.server.log_text().count("\n")
        self.server.request("GET", "/api/dtypes")
        self.server.request("POST", "/api/params", {"model": "nope-model"})
        time.sleep(0.5)
        lines = self.server.log_text().splitlines()[before:]
        self.assertEqual(len(lines), 2, lines)
        self.assertIn("GET /api/dtypes 200", lines[0])
        self.assertIn("POST /api/params 400", lines[1])

    def test_1000_concurrent_requests(self):
        models = ["llama-3-8b", "llama-2-7b", "gpt2", "bert-base-uncased", "llama-2-70b"]
        want = {m: run_json("params", m) for m in models}

        def one(i):
            m = models[i % len(models)]
            status, body = self.server.request("POST", "/api/params", {"model": m})
            return m, status, body

        start = time.time()
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(one, range(1000)))
        elapsed = time.time() - start
        self.assertEqual(len(answers), 1000)
        for m, status, body in answers:
            self.assertEqual(status, 200)
            self.assertEqual(body, want[m])
        print("1000 requests from 32 clients in %.2f s (%.0f requests/s)" % (
            elapsed, 1000 / elapsed), file=sys.stderr)
        self.assert_alive()


if __name__ == "__main__":
    unittest.main()
