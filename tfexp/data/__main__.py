"""``python -m tfexp.data convert data=NAME out=DIR [shards=N] [compression=GZIP] [...]``

Writes any registered data set as sharded TFRecords plus ``DIR/schema.json``; train on
them with ``python -m tfexp data=tfrecord data.schema=DIR/schema.json``. Other arguments
are config overrides, as for ``python -m tfexp`` (``data.image_shape=false``, ``seed=1``).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from tfexp.config import compose

from tfexp.errors import ConfigError, TfexpError

USAGE = "usage: python -m tfexp.data convert data=NAME out=DIR [shards=1] [compression=GZIP] [batch_size=1024] [config overrides]"
OPTIONS = {"out": str, "shards": int, "compression": str, "batch_size": int}

log = logging.getLogger("tfexp.data")


def parse_args(args: list[str]) -> tuple[dict, list[str]]:
    if not args or args[0] != "convert":
        raise ConfigError(USAGE)
    options, overrides = {"shards": 1, "compression": None, "batch_size": 1024}, []
    for arg in args[1:]:
        key, _, value = arg.partition("=")
        if key in OPTIONS:
            try:
                options[key] = OPTIONS[key](value)
            except ValueError:
                raise ConfigError(f"{key}={value!r} is invalid: expected an integer") from None
        else:
            overrides.append(arg)
    if "out" not in options:
        raise ConfigError(f"out= is required: the directory to write. {USAGE}")
    if options["shards"] < 1:
        raise ConfigError(f"shards={options['shards']} is invalid: expected an integer >= 1")
    if options["compression"] not in (None, "GZIP"):
        raise ConfigError(f"compression={options['compression']} is invalid: expected GZIP (or leave it out)")
    return options, overrides


def main(args: list[str]) -> Path:
    from tfexp.config import validate
    from tfexp.data.convert import convert
    from tfexp.plugins import get_plugin_manager, get_registry

    options, overrides = parse_args(args)
    cfg = compose(overrides)
    validate(cfg)
    pm = get_plugin_manager()
    pm.hook.tfexp_configure(cfg=cfg)
    data = get_registry(pm).get("data", cfg.data.name).load(cfg.data, cfg.seed)
    out = Path(options.pop("out"))
    convert(data, out, **options, source=" ".join(overrides))
    return out / "schema.json"


def cli() -> None:
    from tfexp.data.errors import read_error

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        schema = main(sys.argv[1:])
    except Exception as exc:
        error = read_error(exc) or exc
        if not isinstance(error, TfexpError):
            raise
        print(f"tfexp.data: error: {error}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {schema}; train on it with: python -m tfexp data=tfrecord data.schema={schema}")


if __name__ == "__main__":
    cli()
