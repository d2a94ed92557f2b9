"""sizeup for Python: every command of the sizeup CLI as a function.

    >>> import sizeup
    >>> sizeup.params("llama-3-8b")["params"]["total"]
    8030261248
    >>> sizeup.run("train", model="llama-3-8b", gpus=8)          # any command by name

Options are the command-line options in snake_case (``--micro-batch 2`` is
``micro_batch=2``); values are numbers, booleans or strings as typed on a command line
("70B", "80GiB"). A model is a catalog name, a HF id, a config.json path, or ``config=``
a config dict. Each function returns a :class:`Report`, the dict ``sizeup <command> --json``
prints, which renders as Markdown in Jupyter. Bad input raises :class:`InputError`.
"""

import json as _json

from . import _sizeup

__all__ = ["InputError", "Report", "run", "commands"]


class InputError(ValueError):
    """Bad input: ``field`` is the option's identifier (``micro_batch``), ``model``,
    ``command`` or ``config.<key>``; ``message`` says what is wrong."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


class Report(dict):
    """The dict ``sizeup <command> --json`` prints, with its text and Markdown forms."""

    def __init__(self, data, markdown, text):
        super().__init__(data)
        self.markdown = markdown
        self.text = text

    def _repr_markdown_(self):
        return self.markdown

    def __str__(self):
        return self.text


def commands():
    """Every command: a list of {"name", "help", "options": [{"name", "kind", ...}]}."""
    return _json.loads(_sizeup.commands_json())["commands"]


_COMMANDS = {c["name"]: c for c in commands()}


def run(command, *args, explain=False, **options):
    """Runs ``command`` with ``options`` as keyword arguments; positional arguments fill the
    command's positional options (MODEL, NAME) in order. ``explain=True`` adds the
    derivations under "explain", as ``--json --explain`` does."""
    spec = _COMMANDS.get(command)
    positional = [o["name"] for o in spec["options"] if o.get("positional")] if spec else []
    if len(args) > len(positional):
        raise InputError("arguments", "sizeup.%s takes %d positional argument%s (%s), got %d" % (
            command, len(positional), "" if len(positional) == 1 else "s",
            ", ".join(positional) or "none", len(args)))
    request = {}
    for name, value in zip(positional, args):
        if name in options:
            raise InputError(name, "%s given both positionally and by keyword" % name)
        request[name] = value
    for name, value in options.items():
        if value is not None:
            request[name] = value
    try:
        text = _json.dumps(request, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InputError("options", "options must be numbers, booleans, strings or a config "
                         "dict: %s" % e) from None
    ok, first, second, third = _sizeup.run_json(command, text, bool(explain))
    if not ok:
        raise InputError(first, second)
    return Report(_json.loads(first), second, third)


def _command_function(name, spec):
    def command(*args, explain=False, **options):
        return run(name, *args, explain=explain, **options)

    lines = [spec["help"], "", "Options (keyword arguments):"]
    for o in spec["options"]:
        lines.append("  %s%s: %s" % (o["name"], " (positional)" if o.get("positional") else "",
                                     o["help"]))
    command.__name__ = command.__qualname__ = name
    command.__doc__ = "\n".join(lines)
    return command


for _name, _spec in _COMMANDS.items():
    if _name.isidentifier() and _name not in globals():
        globals()[_name] = _command_function(_name, _spec)
        __all__.append(_name)
del _name, _spec
