"""Command line: build, train, predict, figure, clean. Errors are one line on stderr, exit code 2.

Only results go to stdout (so `predict --json` output parses and can be piped, and `figure -o -` writes
the figure's bytes alone); progress bars, epoch lines and logs go to stderr. A reader that closes the
pipe early (`| head`) ends the command quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from generator import __version__
from generator.config import DEFAULT_CACHE_DIR, OPTIONS, PROFILE_ENV, BuildConfig, from_options
from generator.errors import ConfigError, GeneratorError
from generator.progress import quiet_bars_when_logged

SCRIPT = "tinyvgg-explainer"  # the console script (pyproject.toml's [project.scripts])
LANGS = ("zh", "en")


def _pipeline_args(p: argparse.ArgumentParser) -> None:
    """The flags of config.OPTIONS (the plugin's options, `dataset_path` -> `--dataset-path`), and two more."""
    g = p.add_argument_group("pipeline options (the options of mkdocs.yml's tinyvgg plugin)")
    for opt in OPTIONS:
        default = f" (default {opt.default})" if opt.default not in (None, "", ()) else ""
        if opt.type is list:
            g.add_argument(
                opt.flag, nargs="*", default=list(opt.default or ()), metavar=opt.name[:-1].upper(), help=opt.help
            )
        else:
            g.add_argument(
                opt.flag,
                type=opt.type,
                default=opt.default,
                choices=opt.choices,
                metavar="N" if opt.type is int else None,
                help=opt.help + default,
            )
    g.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help=f"cache directory (default {DEFAULT_CACHE_DIR})")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def _cfg(args: argparse.Namespace) -> BuildConfig:
    """Paths given on the command line are relative to the current folder (in mkdocs.yml, to its folder)."""
    return from_options(Path.cwd(), vars(args), cache_dir=args.cache_dir)


def cmd_build(args: argparse.Namespace) -> int:
    from generator.build import run

    cfg = _cfg(args)
    out = run(cfg, progress=not args.quiet, log=lambda m: print(m, file=sys.stderr))
    m = out.facts["metrics"]
    print(f"figures: {len(out.manifest)} ({out.cached} from the cache) in {cfg.cache_dir / 'figure'}", file=args.out)
    print(f"test accuracy: {m['test_acc']:.1%} after {m['epochs']} epochs on {out.facts['dataset']}", file=args.out)
    print(
        "stages run: "
        + (", ".join(out.stages_run) or "none (all cached)")
        + " | "
        + ", ".join(f"{k} {v:.1f} s" for k, v in out.timings.items()),
        file=args.out,
    )
    if args.site:
        env = dict(os.environ)
        if args.profile:
            env[PROFILE_ENV] = args.profile
        return subprocess.call(
            [sys.executable, "-m", "mkdocs", "build", "-f", args.config_file, *(["--strict"] if args.strict else [])],
            env=env,
        )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from generator.build import ensure_model

    train_dir, _ = ensure_model(_cfg(args), progress=not args.quiet, log=lambda m: print(m, file=sys.stderr))
    meta = json.loads((train_dir / "meta.json").read_text(encoding="utf-8"))
    m = meta["metrics"]
    print(f"checkpoint: {train_dir}", file=args.out)
    print(
        f"test accuracy {m['test_acc']:.1%}, best val accuracy {m['val_acc']:.1%} at epoch {m['best_epoch']} "
        f"of {m['epochs']}, {m['train_seconds']:.1f} s of training",
        file=args.out,
    )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from generator.predict import format_json, predict

    weights = args.weights
    if weights is None:
        from generator.build import ensure_model
        from generator.images import load_image

        for path in args.image:  # a broken image should fail now, not after minutes of training
            load_image(Path(path))
        weights, _ = ensure_model(_cfg(args), progress=not args.quiet, log=lambda m: print(m, file=sys.stderr))
    results = predict(Path(weights), [Path(p) for p in args.image])
    if args.json:
        print(format_json(results), file=args.out)
    else:
        for r in results:
            print(f"{r['path']}: {r['class']} ({r['probabilities'][r['class']]:.1%})", file=args.out)
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    from generator.build import prepare
    from generator.cache import atomic_write
    from generator.catalog import KINDS, make_spec
    from generator.images import load_image

    if args.kind and args.kind not in KINDS:
        raise ConfigError(f"figure: unknown kind {args.kind!r}; known kinds: {', '.join(KINDS)}")
    if args.list:
        print(kinds_table(args.kind), file=args.out)
        return 0
    if not args.kind:
        raise ConfigError(f"figure: name a figure kind, one of: {', '.join(KINDS)} (figure --list shows their options)")
    if not args.output:
        raise ConfigError("-o/--output: name the output file, or - for standard output (with --format)")
    fmt = _figure_format(args)
    to_stdout = args.output == "-"
    if to_stdout and args.out.isatty():
        raise ConfigError("-o -: standard output is a terminal; redirect it to a file (> figure.png) or a pipe")
    # Check the figure's options and the image before training, which can take minutes. The output
    # layer's neuron count is only known from the trained model: render_single checks it again.
    make_spec(args.kind, image="check", layer=args.layer, neuron=args.neuron, hyper=args.hyper, num_classes=sys.maxsize)
    if args.image:
        load_image(Path(args.image))
    cfg = _cfg(args)
    model = prepare(cfg, progress=not args.quiet, log=lambda m: print(m, file=sys.stderr))
    from generator.stages.render import render_single  # NumPy only: no torch

    spec, rendered = render_single(
        cfg,
        model,
        args.kind,
        Path(args.image) if args.image else None,
        args.layer,
        args.neuron,
        args.hyper,
        fmt=fmt,
        zoom=args.zoom,
        lang=args.lang,
    )
    if to_stdout:
        args.out.buffer.write(rendered.data)
        report = sys.stderr  # the figure's bytes are all that stdout carries
    else:
        out = Path(args.output)
        try:
            atomic_write(out, rendered.data)
        except OSError as exc:
            raise ConfigError(f"-o {out}: cannot write ({exc.strerror})") from exc
        report = args.out
    size = f"{rendered.width}×{rendered.height}" + (f" ({fmt.upper()})" if fmt in ("svg", "pdf") else "")
    print(f"{args.output}: {spec.kind} {size}, {len(rendered.data) / 1024:.0f} KiB", file=report)
    print(f"alt: {rendered.alt[args.lang]}", file=report)
    print(f"caption: {rendered.caption[args.lang]}", file=report)
    return 0


def _figure_format(args: argparse.Namespace) -> str:
    """The format `figure` writes: -o's suffix, or --format with -o -. Errors name the formats the kind has."""
    from generator.catalog import formats

    can = formats(args.kind)
    listed = _either(can)
    if args.output == "-":
        if not args.format:
            raise ConfigError(
                f"--format: -o - (standard output) needs --format; {args.kind!r} figures can be written as {listed}"
            )
        fmt = args.format
        if fmt not in can:
            raise ConfigError(f"--format {fmt}: {args.kind!r} figures can be written as {listed} only")
    else:
        fmt = Path(args.output).suffix.lower().lstrip(".")
        if fmt not in can:
            got = f"a .{fmt} file" if fmt else "a file name without a suffix"
            raise ConfigError(
                f"-o {args.output}: {args.kind!r} figures can be written as "
                f"{_either(['.' + f for f in can])} (the suffix of -o chooses), not as {got}"
            )
        if args.format and args.format != fmt:
            raise ConfigError(
                f"--format {args.format}: -o {args.output} is a .{fmt} file; drop --format or make the two agree"
            )
    if args.zoom != 1 and fmt != "png":
        raise ConfigError(
            f"--zoom {args.zoom}: only PNG output can be enlarged, this is {fmt.upper()}"
            + (" (a vector format: it scales by itself)" if fmt in ("svg", "pdf") else "")
        )
    return fmt


def _either(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def kinds_table(only: str | None = None) -> str:
    """`figure --list`: every kind (catalog.KINDS), or `only`, with the options it takes and the formats
    it writes."""
    from generator.catalog import HYPERS, KINDS, default_layer, formats

    rows = []
    for kind, (scope, layers, takes_neuron, _) in KINDS.items():
        if only and kind != only:
            continue
        params = ["--image IMAGE (default: the featured sample)"] if scope == "image" else []
        if layers:
            params.append(f"--layer {'|'.join(layers)} (default {default_layer(kind)})")
        if takes_neuron:
            params.append("--neuron N (default 0)")
        if kind == "hyperparameter":
            params.append(f"--hyper {'|'.join(HYPERS)} (required)")
        rows.append((kind, "|".join(formats(kind)), "  ".join(params) or "-"))
    width = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    head = [f"{'kind':<{width[0]}}  {'formats':<{width[1]}}  options"]
    return "\n".join(head + [f"{k:<{width[0]}}  {f:<{width[1]}}  {p}" for k, f, p in rows])


def cmd_clean(args: argparse.Namespace) -> int:
    from generator.cache import Cache

    _check_is_a_cache(Path(args.cache_dir), args.cache_dir)
    if args.unused:
        from generator.build import clean_unused

        freed = clean_unused(Path(args.cache_dir))
        print(
            f"removed the entries of {args.cache_dir} that the last build did not use ({freed / 1e6:.1f} MB)",
            file=args.out,
        )
        return 0
    freed = Cache(Path(args.cache_dir)).clean()
    print(f"emptied {args.cache_dir} ({freed / 1e6:.1f} MB)", file=args.out)
    return 0


def _check_is_a_cache(root: Path, given: str) -> None:
    """`clean` deletes everything in the folder: refuse folders that are plainly not a build cache
    (`--cache-dir .` in the project, `~`, `/`), so a typo cannot empty a project or a home folder."""
    if not root.is_dir():
        return
    resolved, here = root.resolve(), Path.cwd().resolve()
    if resolved in (here, *here.parents, Path.home().resolve()):
        raise ConfigError(
            f"--cache-dir {given}: refusing to empty {resolved}, which is the current folder, one "
            "of its parents or your home folder; name the cache folder itself (default .cache)"
        )
    if any(root.iterdir()) and not any((root / name).exists() for name in ("build.lock", "manifest.json")):
        raise ConfigError(
            f"--cache-dir {given}: {resolved} does not look like a build cache (it has no "
            "build.lock or manifest.json); nothing was deleted. Check the path"
        )


def prog() -> str:
    """The name the command was run by: the console script's, or `python -m generator`."""
    return SCRIPT if Path(sys.argv[0]).stem == SCRIPT else "python -m generator"


def parser() -> argparse.ArgumentParser:
    from generator.catalog import HYPERS, KINDS

    p = argparse.ArgumentParser(prog=prog(), description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="train (if needed) and render every figure into the cache")
    _pipeline_args(b)
    b.add_argument("--site", action="store_true", help="then run `mkdocs build` on --config-file")
    b.add_argument("--strict", action="store_true", help="with --site: mkdocs build --strict")
    b.add_argument("--config-file", default="mkdocs.yml", help="with --site: the MkDocs config (default mkdocs.yml)")
    b.set_defaults(func=cmd_build)
    t = sub.add_parser("train", help="train TinyVGG (cached) and print its metrics")
    _pipeline_args(t)
    t.set_defaults(func=cmd_train)
    pr = sub.add_parser("predict", help="classify images")
    pr.add_argument("image", nargs="+", help="image files")
    pr.add_argument(
        "--weights",
        help="a checkpoint directory, model.safetensors, or CNN Explainer's model.json "
        "(default: the model the pipeline options train)",
    )
    pr.add_argument("--json", action="store_true", help="print a JSON list: path, class, every probability")
    _pipeline_args(pr)
    pr.set_defaults(func=cmd_predict)
    f = sub.add_parser(
        "figure",
        help="render one figure to a file or to stdout, for any image (--list: the kinds)",
        description="Render one figure, for slides or documents: PNG and GIF as on the site, SVG "
        "or PDF for the figures drawn with matplotlib, PNG at 2 or 3 times the pixels. Prints "
        "its size, alt text and caption.",
    )
    f.add_argument("kind", nargs="?", metavar="KIND", help=f"figure kind: {', '.join(KINDS)}")
    f.add_argument(
        "--list", action="store_true", help="print every kind (or KIND) with its options and formats, and exit"
    )
    f.add_argument("--image", help="an image file (default: the featured sample image)")
    f.add_argument("--layer", help="layer name, e.g. conv_1_1")
    f.add_argument("--neuron", type=int, help="neuron index")
    f.add_argument("--hyper", choices=HYPERS, help="for kind hyperparameter")
    f.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="output file; its suffix chooses the format (png, gif, "
        "svg, pdf: see --list); - writes the bytes to stdout (then give --format)",
    )
    f.add_argument("--format", choices=("png", "gif", "svg", "pdf"), help="the format, needed with -o -")
    f.add_argument(
        "--zoom",
        type=int,
        choices=(1, 2, 3),
        default=1,
        help="PNG only: 2 or 3 times the pixels in each direction (matplotlib figures are redrawn at "
        "that resolution, heatmaps enlarged pixel by pixel); default 1",
    )
    f.add_argument(
        "--lang",
        choices=LANGS,
        default="en",
        help="language of the figure's words (class names, axis titles, legends) and of the alt text and "
        "caption printed (default en); layer names, shapes, numbers and formulas are the same in both",
    )
    _pipeline_args(f)
    f.set_defaults(func=cmd_figure)
    c = sub.add_parser("clean", help="empty the cache")
    c.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help=f"cache directory (default {DEFAULT_CACHE_DIR})")
    c.add_argument(
        "--unused",
        action="store_true",
        help="remove only what the last build did not use (figures, older models and probes)",
    )
    c.set_defaults(func=cmd_clean)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet_bars_when_logged()
    # Results are printed to args.out (the real stdout); anything else that prints to stdout while a
    # command runs (tqdm.write's epoch lines in training, library chatter) is sent to stderr.
    args.out = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr):
            code = args.func(args)
        args.out.flush()  # a closed pipe is reported here, inside the try, not at interpreter exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away
    except GeneratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """The reader closed the pipe (e.g. `| head`): point stdout at /dev/null so that Python's final
    flush of the unwritten rest does not print a second BrokenPipeError."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
