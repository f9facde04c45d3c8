"""Command line: build, train, predict, figure, clean. Errors are one line on stderr, exit code 2.

Only results go to stdout (so `predict --json` output parses and can be piped); progress bars, epoch
lines and logs go to stderr. A reader that closes the pipe early (`| head`) ends the command quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from generator.config import PROFILE_ENV, make_build_config
from generator.errors import ConfigError, GeneratorError
from generator.progress import quiet_bars_when_logged


def _pipeline_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pipeline options (as in mkdocs.yml's tinyvgg plugin)")
    g.add_argument("--profile", choices=("quick", "full"),
                   help=f"quick (shapes, seconds) or full (Tiny ImageNet, minutes); default ${PROFILE_ENV} or quick")
    g.add_argument("--dataset", choices=("shapes", "tiny-imagenet-10", "folder"), help="override the profile's dataset")
    g.add_argument("--dataset-path", help="tiny-imagenet-10: a local tiny-imagenet-200.zip; folder: an image folder")
    g.add_argument("--epochs", type=int, help="maximum training epochs")
    g.add_argument("--images-per-class", type=int, help="shapes only: training images per class (default 600)")
    g.add_argument("--max-samples", type=int, default=0, help="explain only N default sample images (0 = all)")
    g.add_argument("--seed", type=int, default=0, help="seed for data, splits and training (default 0)")
    g.add_argument("--images", nargs="*", default=[], metavar="IMAGE", help="your own sample images")
    g.add_argument("--featured", default="", help="slug of the featured sample image")
    g.add_argument("--workers", type=int, default=0, help="render processes (0 = one per core)")
    g.add_argument("--reference-weights", help="CNN Explainer's model.json, to compare accuracies")
    g.add_argument("--cache-dir", default=".cache", help="cache directory (default .cache)")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def _cfg(args: argparse.Namespace):
    return make_build_config(
        Path.cwd(), profile=args.profile, dataset=args.dataset, dataset_path=args.dataset_path, epochs=args.epochs,
        seed=args.seed, images=tuple(args.images), featured=args.featured, workers=args.workers,
        reference_weights=args.reference_weights, cache_dir=args.cache_dir,
        images_per_class=args.images_per_class, max_samples=args.max_samples)


def cmd_build(args: argparse.Namespace) -> int:
    from generator.build import run

    cfg = _cfg(args)
    out = run(cfg, progress=not args.quiet, log=lambda m: print(m, file=sys.stderr))
    m = out.facts["metrics"]
    print(f"figures: {len(out.manifest)} ({out.cached} from the cache) in {cfg.cache_dir / 'figure'}", file=args.out)
    print(f"test accuracy: {m['test_acc']:.1%} after {m['epochs']} epochs on {out.facts['dataset']}",
          file=args.out)
    print("stages run: " + (", ".join(out.stages_run) or "none (all cached)") + " | "
          + ", ".join(f"{k} {v:.1f} s" for k, v in out.timings.items()), file=args.out)
    if args.site:
        env = dict(os.environ)
        if args.profile:
            env[PROFILE_ENV] = args.profile
        return subprocess.call([sys.executable, "-m", "mkdocs", "build", "-f", args.config_file, *(
            ["--strict"] if args.strict else [])], env=env)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from generator.build import ensure_model

    train_dir, _ = ensure_model(_cfg(args), progress=not args.quiet, log=lambda m: print(m, file=sys.stderr))
    meta = json.loads((train_dir / "meta.json").read_text(encoding="utf-8"))
    m = meta["metrics"]
    print(f"checkpoint: {train_dir}", file=args.out)
    print(f"test accuracy {m['test_acc']:.1%}, best val accuracy {m['val_acc']:.1%} at epoch {m['best_epoch']} "
          f"of {m['epochs']}, {m['train_seconds']:.1f} s of training", file=args.out)
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

    if args.kind not in KINDS:
        raise ConfigError(f"figure: unknown kind {args.kind!r}; known kinds: {', '.join(KINDS)}")
    ext = KINDS[args.kind][3]
    out = Path(args.output)
    if out.suffix.lower() != f".{ext}":
        raise ConfigError(f"-o {out}: a {args.kind} figure is a .{ext} file; name the output *.{ext}")
    # Check the figure's options and the image before training, which can take minutes. The output
    # layer's neuron count is only known from the trained model: render_single checks it again.
    make_spec(args.kind, image="check", layer=args.layer, neuron=args.neuron, hyper=args.hyper,
              num_classes=sys.maxsize)
    if args.image:
        load_image(Path(args.image))
    cfg = _cfg(args)
    model = prepare(cfg, progress=not args.quiet, log=lambda m: print(m, file=sys.stderr))
    from generator.stages.render import render_single  # imports torch

    spec, rendered = render_single(cfg, model, args.kind, Path(args.image) if args.image else None,
                                   args.layer, args.neuron, args.hyper)
    try:
        atomic_write(out, rendered.data)
    except OSError as exc:
        raise ConfigError(f"-o {out}: cannot write ({exc.strerror})") from exc
    print(f"{out}: {spec.kind} {rendered.width}×{rendered.height}, {len(rendered.data) / 1024:.0f} KiB",
          file=args.out)
    print(rendered.caption["en"], file=args.out)
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from generator.cache import Cache

    _check_is_a_cache(Path(args.cache_dir), args.cache_dir)
    if args.unused:
        from generator.build import clean_unused

        freed = clean_unused(Path(args.cache_dir))
        print(f"removed the entries of {args.cache_dir} that the last build did not use ({freed / 1e6:.1f} MB)",
              file=args.out)
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
        raise ConfigError(f"--cache-dir {given}: refusing to empty {resolved}, which is the current folder, one "
                          "of its parents or your home folder; name the cache folder itself (default .cache)")
    if any(root.iterdir()) and not any((root / name).exists() for name in ("build.lock", "manifest.json")):
        raise ConfigError(f"--cache-dir {given}: {resolved} does not look like a build cache (it has no "
                          "build.lock or manifest.json); nothing was deleted. Check the path")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m generator", description=__doc__)
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
    pr.add_argument("--weights", help="a checkpoint directory, model.safetensors, or CNN Explainer's model.json "
                    "(default: the model the pipeline options train)")
    pr.add_argument("--json", action="store_true", help="print a JSON list: path, class, every probability")
    _pipeline_args(pr)
    pr.set_defaults(func=cmd_predict)
    f = sub.add_parser("figure", help="render one figure to a file, for any image")
    f.add_argument("kind", help="figure kind, e.g. overview, conv-detail, softmax, kernels")
    f.add_argument("--image", help="an image file (default: the featured sample image)")
    f.add_argument("--layer", help="layer name, e.g. conv_1_1")
    f.add_argument("--neuron", type=int, help="neuron index")
    f.add_argument("--hyper", choices=("padding", "kernel-size", "stride"), help="for kind hyperparameter")
    f.add_argument("-o", "--output", required=True, help="output file (.png or .gif, as the kind draws)")
    _pipeline_args(f)
    f.set_defaults(func=cmd_figure)
    c = sub.add_parser("clean", help="empty the cache")
    c.add_argument("--cache-dir", default=".cache", help="cache directory (default .cache)")
    c.add_argument("--unused", action="store_true",
                   help="remove only what the last build did not use (figures, older models and probes)")
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
