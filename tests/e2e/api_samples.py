"""Requests for every engine command, shared by the server, Python and browser tests, and
their command-line spelling (the same request typed at `sizeup`)."""
import json
import os

from sizeup_cli import run

# Option values a request for any command may use; a command gets those it takes.
VALUES = {
    "model": "llama-3-8b",
    "gpu": "h100-sxm",
    "gpus": 8,
    "micro_batch": 2,
    "batch": 4,
    "seq": 2048,
    "tokens": "1T",
    "params": "8B",
    "flops": "1e21",
}




def sample(spec):
    """A request for the command described by `spec` (an entry of /api/commands)."""
    names = {o["name"] for o in spec["options"]}
    return {k: v for k, v in VALUES.items() if k in names}


def cli_args(spec, request):
    """The command line that asks `request` of the command described by `spec`."""
    opts = {o["name"]: o for o in spec["options"]}
    offs = {o["off_name"]: o for o in spec["options"] if o.get("off_name")}
    args = [spec["name"]]
    for key, value in request.items():
        o = opts.get(key) or offs.get(key)
        dashed = "--" + key.replace("_", "-")
        if o is None:
            args += [dashed, str(value)]
        elif o.get("positional"):
            args.append(str(value))
        elif o["kind"] == "flag":
            if value:
                args.append(dashed)
        elif o["kind"] == "toggle":
            args.append(dashed if value else "--" + o["off_name"].replace("_", "-"))
        else:
            args += [dashed, str(value)]
    return args


def cli(spec, request, explain=False):
    """(exit code, JSON object printed by `sizeup ... --json`)."""
    args = cli_args(spec, request) + (["--explain"] if explain else [])
    code, out, err = run(*args, "--json")
    return code, json.loads(out) if out.strip() else {"stderr": err}
