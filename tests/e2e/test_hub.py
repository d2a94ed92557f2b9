"""Hub ids and checkpoint headers, end to end: sizeup against a loopback server that answers
like the Hugging Face Hub (resolve URLs, X-Repo-Commit, ETag, X-Error-Code, Range), with
HF_ENDPOINT pointing at it and HF_HUB_CACHE in a temporary directory. No internet needed.

The model is a tiny Llama whose parameter count is written out by hand from the modules of
transformers' LlamaForCausalLM (d = 8, 2 layers, 2 heads of 4, 1 KV head, MLP 16, vocab 32,
untied head):
  embed_tokens 32x8 = 256; per layer q 8x8 = 64, k 4x8 = 32, v 4x8 = 32, o 8x8 = 64,
  gate/up 16x8 = 128 each, down 8x16 = 128, two RMSNorms 8 each -> 592; final norm 8;
  lm_head 32x8 = 256.  Total 256 + 2 x 592 + 8 + 256 = 1704.
"""
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sizeup_cli import BIN  # noqa: E402
from server_util import Server  # noqa: E402

TINY_TOTAL = 1704
COMMIT = "a" * 40
COMMIT_V1 = "b" * 40
TOKEN = "hf_good_token"

TINY_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8,
    "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
    "intermediate_size": 16, "vocab_size": 32, "max_position_embeddings": 64,
    "tie_word_embeddings": False, "rms_norm_eps": 1e-5,
}


def tiny_llama_tensors():
    """(name, shape) of LlamaForCausalLM's parameters for TINY_CONFIG."""
    t = [("model.embed_tokens.weight", [32, 8])]
    for layer in range(2):
        p = f"model.layers.{layer}."
        t += [(p + "self_attn.q_proj.weight", [8, 8]), (p + "self_attn.k_proj.weight", [4, 8]),
              (p + "self_attn.v_proj.weight", [4, 8]), (p + "self_attn.o_proj.weight", [8, 8]),
              (p + "mlp.gate_proj.weight", [16, 8]), (p + "mlp.up_proj.weight", [16, 8]),
              (p + "mlp.down_proj.weight", [8, 16]), (p + "input_layernorm.weight", [8]),
              (p + "post_attention_layernorm.weight", [8])]
    return t + [("model.norm.weight", [8]), ("lm_head.weight", [32, 8])]


def safetensors_bytes(tensors, dtype="BF16", bytes_per=2, pad_header_to=0):
    """A safetensors file per the format: u64 LE header length, JSON header, data (zeros)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + n * bytes_per]}
        offset += n * bytes_per
    text = json.dumps(header).encode()
    text += b" " * max(0, pad_header_to - len(text))
    return struct.pack("<Q", len(text)) + text + b"\0" * offset


TINY_FILE = safetensors_bytes(tiny_llama_tensors())
HALF = len(tiny_llama_tensors()) // 2
SHARD1 = safetensors_bytes(tiny_llama_tensors()[:HALF], pad_header_to=70000)  # > 64 KiB
SHARD2 = safetensors_bytes(tiny_llama_tensors()[HALF:])
INDEX = {"metadata": {"total_size": 2 * TINY_TOTAL},
         "weight_map": {name: ("model-00001-of-00002.safetensors" if i < HALF
                               else "model-00002-of-00002.safetensors")
                        for i, (name, _) in enumerate(tiny_llama_tensors())}}

# repo -> revision -> (commit, {file: bytes})
REPOS = {
    "org/tiny-llama": {
        "main": (COMMIT, {"config.json": json.dumps(TINY_CONFIG).encode(),
                          "model.safetensors": TINY_FILE}),
        "v1": (COMMIT_V1, {"config.json": json.dumps(TINY_CONFIG).encode()}),
    },
    "org/sharded": {"main": (COMMIT, {
        "config.json": json.dumps(TINY_CONFIG).encode(),
        "model.safetensors.index.json": json.dumps(INDEX).encode(),
        "model-00001-of-00002.safetensors": SHARD1,
        "model-00002-of-00002.safetensors": SHARD2})},
    "gated/tiny-llama": {"main": (COMMIT, {"config.json": json.dumps(TINY_CONFIG).encode()})},
}
GATED = {"gated/tiny-llama"}
RENAMED = {"org/old-name": "org/tiny-llama"}
SLOW = {"org/slow"}


class HubHandler(http.server.BaseHTTPRequestHandler):
    requests = []  # (path, headers) of every request, shared by the test

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=None):
        try:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):  # noqa: N802 (http.server's naming)
        HubHandler.requests.append((self.path, dict(self.headers)))
        parts = self.path.split("/")  # "", org, name, "resolve", revision..., file
        if len(parts) < 6 or parts[3] != "resolve":
            return self.answer(404)
        repo, rest = parts[1] + "/" + parts[2], parts[4:]
        if repo in SLOW:
            time.sleep(4)
            return self.answer(200, b"{}")
        if repo in RENAMED:  # the Hub redirects a renamed repository with a relative URL
            return self.answer(307, headers={
                "Location": "/" + RENAMED[repo] + "/resolve/" + "/".join(rest)})
        if repo not in REPOS:  # anonymous: 401 RepoNotFound, as the Hub hides private repos
            return self.answer(401, b"Repository not found", {"X-Error-Code": "RepoNotFound"})
        if repo in GATED and self.headers.get("Authorization") != "Bearer " + TOKEN:
            code = 403 if self.headers.get("Authorization") else 401
            return self.answer(code, b"gated", {"X-Error-Code": "GatedRepo"})
        revision, filename = "/".join(rest[:-1]), rest[-1]
        if revision not in REPOS[repo]:
            return self.answer(404, b"", {"X-Error-Code": "RevisionNotFound"})
        commit, files = REPOS[repo][revision]
        if filename not in files:
            return self.answer(404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit})
        data = files[filename]
        headers = {"X-Repo-Commit": commit, "ETag": f'"etag{abs(hash(data)) % 10**12}"'}
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            first, last = rng[len("bytes="):].split("-")
            first, last = int(first), min(int(last), len(data) - 1)
            headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
            return self.answer(206, data[first:last + 1], headers)
        return self.answer(200, data, headers)


class HubTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HubHandler)
        cls.server.daemon_threads = True
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.endpoint = f"http://127.0.0.1:{cls.server.server_address[1]}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sizeup_hub_e2e_")
        self.cache = os.path.join(self.tmp, "hub")
        HubHandler.requests.clear()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_sizeup(self, *args, **env):
        e = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        e.update({"HOME": self.tmp, "HF_HUB_CACHE": self.cache, "HF_ENDPOINT": self.endpoint})
        e.pop("XDG_CACHE_HOME", None)
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        res = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, env=e)
        return res.returncode, res.stdout, res.stderr

    def ok_json(self, *args, **env):
        code, out, err = self.run_sizeup(*args, "--json", **env)
        self.assertEqual(code, 0, err)
        return json.loads(out)

    def error_line(self, *args, **env):
        code, out, err = self.run_sizeup(*args, "--json", **env)
        self.assertEqual(code, 2, f"{args}: {out} {err}")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertEqual(json.loads(out)["error"], lines[0][len("sizeup: error: "):])
        return lines[0]

    def test_http_api_takes_a_hub_id_but_no_local_path(self):
        saved = dict(os.environ)
        os.environ.update({"HOME": self.tmp, "HF_HUB_CACHE": self.cache,
                           "HF_ENDPOINT": self.endpoint})
        try:
            server = Server()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        try:
            status, body = server.request("POST", "/api/params", {"model": "org/tiny-llama"})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["params"]["total"], TINY_TOTAL)
            status, body = server.request("POST", "/api/params", {"model": "/etc/passwd"})
            self.assertEqual((status, body["error"]["field"]), (400, "model"))
        finally:
            server.stop()

    def test_download_stores_in_the_cache_layout_and_next_call_is_offline(self):
        j = self.ok_json("params", "org/tiny-llama")
        self.assertEqual(j["params"]["total"], TINY_TOTAL)
        self.assertEqual(len(HubHandler.requests), 1)
        self.assertEqual(HubHandler.requests[0][0], "/org/tiny-llama/resolve/main/config.json")
        repo = os.path.join(self.cache, "models--org--tiny-llama")
        with open(os.path.join(repo, "refs", "main")) as f:
            self.assertEqual(f.read(), COMMIT)
        snap = os.path.join(repo, "snapshots", COMMIT, "config.json")
        self.assertTrue(os.path.islink(snap))
        self.assertTrue(os.readlink(snap).startswith("../../blobs/etag"))
        with open(snap) as f:
            self.assertEqual(json.load(f), TINY_CONFIG)
        # Cached: offline works and the server sees no new request.
        j = self.ok_json("params", "org/tiny-llama", HF_HUB_OFFLINE="1")
        self.assertEqual(j["params"]["total"], TINY_TOTAL)
        j = self.ok_json("infer", "org/tiny-llama", "--context", "64")
        self.assertEqual(len(HubHandler.requests), 1)

    def test_cache_written_by_huggingface_hub_is_read_without_network(self):
        # The layout huggingface_hub writes, laid out here by hand; the endpoint is a closed port.
        repo = os.path.join(self.cache, "models--someone--cached-model")
        os.makedirs(os.path.join(repo, "blobs"))
        os.makedirs(os.path.join(repo, "refs"))
        os.makedirs(os.path.join(repo, "snapshots", COMMIT))
        with open(os.path.join(repo, "blobs", "0123abcd"), "w") as f:
            json.dump(TINY_CONFIG, f)
        with open(os.path.join(repo, "refs", "main"), "w") as f:
            f.write(COMMIT)
        os.symlink("../../blobs/0123abcd", os.path.join(repo, "snapshots", COMMIT, "config.json"))
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
        s.close()
        j = self.ok_json("params", "someone/cached-model", HF_ENDPOINT=closed)
        self.assertEqual(j["params"]["total"], TINY_TOTAL)
        # HF_HOME/hub is the cache when HF_HUB_CACHE is unset.
        j = self.ok_json("params", "someone/cached-model", HF_ENDPOINT=closed, HF_HUB_CACHE=None,
                         HF_HOME=self.tmp)
        self.assertEqual(j["params"]["total"], TINY_TOTAL)

    def test_revision_is_resolved_and_recorded_in_refs(self):
        j = self.ok_json("params", "org/tiny-llama@v1")
        self.assertEqual(j["params"]["total"], TINY_TOTAL)
        self.assertEqual(HubHandler.requests[0][0], "/org/tiny-llama/resolve/v1/config.json")
        with open(os.path.join(self.cache, "models--org--tiny-llama", "refs", "v1")) as f:
            self.assertEqual(f.read(), COMMIT_V1)
        line = self.error_line("params", "org/tiny-llama@nope")
        self.assertIn("revision not found (MODEL): org/tiny-llama has no revision 'nope'", line)

    def test_gated_repository_needs_the_token_and_sends_it(self):
        line = self.error_line("params", "gated/tiny-llama")
        self.assertIn("gated repository (MODEL): gated/tiny-llama needs a token (HTTP 401)", line)
        self.assertIn("set HF_TOKEN", line)
        line = self.error_line("params", "gated/tiny-llama", HF_TOKEN="hf_wrong")
        self.assertIn("HF_TOKEN has no access to gated/tiny-llama (HTTP 403)", line)
        self.assertNotIn("hf_wrong", line)  # the token is never printed
        j = self.ok_json("params", "gated/tiny-llama", HF_TOKEN=TOKEN)
        self.assertEqual(j["params"]["total"], TINY_TOTAL)
        self.assertEqual(HubHandler.requests[-1][1].get("Authorization"), "Bearer " + TOKEN)
        # The token file written by `huggingface-cli login` (HF_HOME/token) is read too.
        shutil.rmtree(self.cache)
        with open(os.path.join(self.tmp, "token"), "w") as f:
            f.write(TOKEN + "\n")
        j = self.ok_json("params", "gated/tiny-llama", HF_HOME=self.tmp)
        self.assertEqual(j["params"]["total"], TINY_TOTAL)

    def test_unknown_repository_and_missing_file(self):
        line = self.error_line("params", "nobody/no-such-model")
        self.assertIn("repository not found (MODEL): no repository nobody/no-such-model on "
                      + self.endpoint + " (HTTP 401)", line)
        # A catalog model's checkpoint is looked up under its HF id.
        line = self.error_line("params", "llama-2-7b", "--from-checkpoint")
        self.assertIn("repository not found (MODEL): no repository meta-llama/Llama-2-7b-hf", line)
        self.assertEqual(HubHandler.requests[-1][0],
                         "/meta-llama/Llama-2-7b-hf/resolve/main/model.safetensors.index.json")
        line = self.error_line("params", "org/sharded@main", "--from-checkpoint",
                               HF_HUB_OFFLINE="1")
        self.assertIn("offline and not cached (MODEL)", line)

    def test_offline_and_not_cached(self):
        line = self.error_line("params", "org/tiny-llama", HF_HUB_OFFLINE="1")
        self.assertIn("offline and not cached (MODEL): HF_HUB_OFFLINE is set and config.json of "
                      "'org/tiny-llama' is not in the cache " + self.cache, line)
        self.assertEqual(HubHandler.requests, [])

    def test_redirect_of_a_renamed_repository_is_followed(self):
        j = self.ok_json("params", "org/old-name")
        self.assertEqual(j["params"]["total"], TINY_TOTAL)
        self.assertEqual([r[0] for r in HubHandler.requests],
                         ["/org/old-name/resolve/main/config.json",
                          "/org/tiny-llama/resolve/main/config.json"])

    def test_timeout_and_refused_connection_are_one_line_errors(self):
        start = time.monotonic()
        line = self.error_line("params", "org/slow", HF_HUB_DOWNLOAD_TIMEOUT="1")
        self.assertLess(time.monotonic() - start, 4)
        self.assertIn("network timeout (MODEL): GET " + self.endpoint +
                      "/org/slow/resolve/main/config.json", line)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
        s.close()
        line = self.error_line("params", "org/tiny-llama", HF_ENDPOINT=closed)
        self.assertIn("network failure (MODEL): GET " + closed, line)

    def test_remote_checkpoint_headers_by_range_requests(self):
        j = self.ok_json("params", "org/tiny-llama", "--from-checkpoint")
        c = j["checkpoint"]
        self.assertEqual(c["tensors"], len(tiny_llama_tensors()))
        self.assertEqual(c["elements"], TINY_TOTAL)
        self.assertEqual(c["bytes"], 2 * TINY_TOTAL)  # BF16
        self.assertEqual(c["by_dtype"], [{"dtype": "BF16", "bits": 16, "tensors": 21,
                                          "elements": TINY_TOTAL, "bytes": 2 * TINY_TOTAL}])
        self.assertEqual(c["comparison"]["matches"], True)
        self.assertEqual(c["comparison"]["config_params"], TINY_TOTAL)
        # config.json, the index (404), then one range of the file: never the whole file.
        self.assertEqual([(r[0], r[1].get("Range")) for r in HubHandler.requests], [
            ("/org/tiny-llama/resolve/main/config.json", None),
            ("/org/tiny-llama/resolve/main/model.safetensors.index.json", None),
            ("/org/tiny-llama/resolve/main/model.safetensors", "bytes=0-65535")])

    def test_sharded_remote_checkpoint_reads_the_index_and_every_shard(self):
        j = self.ok_json("params", "org/sharded", "--from-checkpoint")
        c = j["checkpoint"]
        self.assertEqual(c["shards"], 2)
        self.assertEqual(c["elements"], TINY_TOTAL)
        self.assertTrue(c["comparison"]["matches"])
        shard1 = [r[1].get("Range") for r in HubHandler.requests
                  if r[0].endswith("model-00001-of-00002.safetensors")]
        # The first shard's header is above 64 KiB: a second range fetches the rest.
        header = struct.unpack("<Q", SHARD1[:8])[0]
        self.assertEqual(shard1, ["bytes=0-65535", f"bytes=65536-{8 + header - 1}"])

    def test_local_checkpoint_file_directory_and_bad_headers(self):
        d = os.path.join(self.tmp, "ckpt")
        os.makedirs(d)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(TINY_CONFIG, f)
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(TINY_FILE)
        j = self.ok_json("params", os.path.join(d, "model.safetensors"))
        self.assertEqual(j["checkpoint"]["elements"], TINY_TOTAL)
        self.assertNotIn("comparison", j["checkpoint"])
        j = self.ok_json("params", d, "--from-checkpoint")
        self.assertTrue(j["checkpoint"]["comparison"]["matches"])
        # A checkpoint without the second layer's MLP: the differences name those tensors.
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes([t for t in tiny_llama_tensors()
                                       if not t[0].startswith("model.layers.1.mlp.")]))
        j = self.ok_json("params", d, "--from-checkpoint")
        cmp = j["checkpoint"]["comparison"]
        self.assertFalse(cmp["matches"])
        self.assertEqual(cmp["checkpoint_elements"], TINY_TOTAL - 3 * 128)
        self.assertEqual(sorted(x["name"] for x in cmp["differences"]),
                         ["down_proj.weight", "gate_proj.weight", "up_proj.weight"])
        for x in cmp["differences"]:
            self.assertEqual((x["checkpoint_elements"], x["config_elements"]), (128, 256))
        code, out, _ = self.run_sizeup("params", d, "--from-checkpoint")
        self.assertEqual(code, 0)
        self.assertIn("!= checkpoint elements 1,320", out)
        bad = os.path.join(self.tmp, "bad.safetensors")
        for content, why in [(b"\x05\0\0", "fewer than the 8-byte header length"),
                             (struct.pack("<Q", 10**12) + b"{}", "exceeds the 100000000 bytes"),
                             (struct.pack("<Q", 1000) + b"{}", "exceeds the file"),
                             (struct.pack("<Q", 3) + b"abc", "not a JSON object"),
                             (TINY_FILE[:-1], "header describes")]:
            with open(bad, "wb") as f:
                f.write(content)
            line = self.error_line("params", bad)
            self.assertIn("bad safetensors header (MODEL): " + bad, line)
            self.assertIn(why, line)
        line = self.error_line("infer", os.path.join(d, "model.safetensors"))
        self.assertIn("not a config (MODEL)", line)


if __name__ == "__main__":
    unittest.main()
