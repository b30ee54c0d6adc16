"""``yetztml data``: list the known data sets, fetch one into the cache (resumable, verified by sha256)."""

from __future__ import annotations

import argparse

from .parsers import command, group

FETCH = (
    "Download every file of data set NAME into DIR/NAME from its public location, showing progress "
    "on a terminal. An interrupted download resumes where it stopped (HTTP Range); a file is kept only "
    "if its sha256 is the one pinned in yetztml, otherwise it is deleted and the command fails. Files "
    "already present and verified are skipped."
)
DIR_HELP = "cache folder (default: $XDG_CACHE_HOME/yetztml or ~/.cache/yetztml)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..data.fetch import DATASETS, ENV_URL

    actions = group(sub, "data", "known data sets: list them, fetch one (download, verify sha256, cache)",
                    "Known data sets for the text applications (docs/text-data.md).", "action", "ACTION")
    show = command(actions, "list", "list the known data sets, their files and whether they are in the cache",
                   "List the known data sets with their files and sizes, and whether they are in DIR.", handle_list)
    show.add_argument("--dir", default=None, help=DIR_HELP)
    get = command(actions, "fetch", "download a data set into the cache, resumable, verified by its pinned sha256 sums",
                  FETCH, handle_fetch)
    get.add_argument("name", choices=sorted(DATASETS), help="which data set")
    get.add_argument("--dir", default=None, help=DIR_HELP)
    get.add_argument(
        "--base-url",
        dest="base_url",
        default=None,
        help=f"fetch BASE_URL/NAME/FILE instead of the public locations (a mirror; default: ${ENV_URL} if set)",
    )


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def handle_list(args: argparse.Namespace) -> int:

    from ..data.fetch import DATASETS, cache_dir
    from . import paths

    root = cache_dir() if args.dir is None else paths.folder("--dir", args.dir)
    for d in DATASETS.values():
        present = all((root / d.name / f.path).is_file() for f in d.files)
        where = f"in {root / d.name}" if present else "not fetched"
        total = sum(f.size for f in d.files)
        print(f"{d.name}: {len(d.files)} files, {_size(total)}, {where}")
        print(f"  {d.description}")
        for f in d.files:
            print(f"  {f.path}  {_size(f.size)}  sha256 {f.sha256}")
    return 0


def handle_fetch(args: argparse.Namespace) -> int:
    import os

    from ..data.fetch import ENV_URL, cache_dir, fetch
    from . import paths

    root = cache_dir() if args.dir is None else paths.out_folder("--dir", args.dir)  # "" is refused, not the default
    source = args.base_url or os.environ.get(ENV_URL) or "the public locations"
    print(f"data fetch {args.name}: into {root / args.name} from {source}")
    result = fetch(args.name, args.dir, base_url=args.base_url)
    print(
        f"data fetch {args.name}: {len(result.downloaded)} downloaded, {len(result.kept)} already present, "
        f"all verified (sha256) in {result.directory}"
    )
    return 0
