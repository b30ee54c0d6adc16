"""Download the known data sets from their public locations into a cache, resumable, verified by sha256.

Known data sets (:data:`DATASETS`; sources, terms and published numbers in ``docs/text-data.md``):

* ``sarcasm`` — News Headlines Dataset for Sarcasm Detection (Misra & Arora), the CSV copy with columns
  ``is_sarcastic,text`` (26,709 headlines) from github.com/Chan5537/ling111-final-project-sarcasm-detection
  at commit 57fd6d1. The original release (github.com/rishabhmisra/News-Headlines-Dataset-For-Sarcasm-Detection)
  is JSON lines; :func:`yetztml.data.read_jsonl` reads it, but no checksum of it is pinned, so ``fetch``
  does not offer it.
* ``multi30k`` — Multi30k task 1 (Elliott et al. 2016), German–English: ``raw/`` (gzip, one sentence a
  line) and ``tok/`` (lowercased, normalised, Moses-tokenised) for train, val and test_2016_flickr, from
  github.com/multi30k/dataset at commit a3d2e0d, folder ``data/task1``.

The data folders name the repositories and commits, not full URLs; the URLs here are GitHub's raw-file
addresses of those commits (``https://raw.githubusercontent.com/OWNER/REPO/COMMIT/PATH``).

Rules of :func:`fetch`:

    (FE1)  files go to ``DIR/NAME/PATH``; DIR is ``dir``, else ``$XDG_CACHE_HOME/yetztml``, else
           ``~/.cache/yetztml``;
    (FE2)  a file already there whose sha256 matches the pinned one is kept, untouched; one whose sum
           differs is deleted and downloaded again;
    (FE3)  a download writes ``PATH.part``; an interrupted one is continued by an HTTP ``Range`` request
           from the part's size (a server that ignores ``Range`` sends the whole file, which replaces the
           part);
    (FE4)  the finished part is renamed into place only if its sha256 is the pinned one; otherwise it is
           deleted — after a resumed download the file is fetched once more from the start — and the
           error names the expected and the actual sum;
    (FE5)  ``base_url`` (else the environment variable ``YETZTML_DATA_URL``) replaces the public
           locations by ``BASE_URL/NAME/PATH``: a mirror with the layout of the project's
           ``../shared/data`` (tests use a local server).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path

from ..core.errors import DataError, message
from ..core.validation import check_choice

ENV_URL = "YETZTML_DATA_URL"
CHUNK = 1 << 16
SARCASM = (
    "https://raw.githubusercontent.com/Chan5537/ling111-final-project-sarcasm-detection/"
    "57fd6d116820581314f4d7b576a88a865dbbb561"
)
MULTI30K = (
    "https://raw.githubusercontent.com/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1"
)


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: where it goes (``path`` inside the set's folder), where it comes from."""

    path: str
    url: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Dataset:
    """A known data set: its files and a one-line description with source and terms."""

    name: str
    description: str
    files: tuple[RemoteFile, ...]


def _multi30k(path: str, sha256: str, size: int) -> RemoteFile:
    return RemoteFile(path, f"{MULTI30K}/{path}", sha256, size)


DATASETS: dict[str, Dataset] = {
    "sarcasm": Dataset(
        "sarcasm",
        "News Headlines Dataset for Sarcasm Detection (Misra & Arora, AI Open 2023): 26,709 headlines, "
        "CSV columns is_sarcastic,text. The authors ask to be cited.",
        (
            RemoteFile(
                "Sarcasm_Headlines_Dataset.csv",
                f"{SARCASM}/Sarcasm_Headlines_Dataset.csv",
                "7f17ec26032b3e24a4427ccec6315c95fad854e6bc31e92fdf74a979ef30a373",
                1714080,
            ),
        ),
    ),
    "multi30k": Dataset(
        "multi30k",
        "Multi30k task 1 (Elliott et al. 2016): German-English image captions, 29,000/1,014/1,000 pairs "
        "(train/val/test_2016_flickr), raw and tokenised. Non-commercial research and education.",
        (
            _multi30k(
                "raw/train.de.gz", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6", 637044
            ),
            _multi30k(
                "raw/train.en.gz", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f", 568929
            ),
            _multi30k(
                "raw/val.de.gz", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a", 24681
            ),
            _multi30k(
                "raw/val.en.gz", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28", 21650
            ),
            _multi30k(
                "raw/test_2016_flickr.de.gz",
                "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
                22890,
            ),
            _multi30k(
                "raw/test_2016_flickr.en.gz",
                "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
                21077,
            ),
            _multi30k(
                "tok/train.lc.norm.tok.de",
                "cb5a23529b65ec2061f1dc446192a9c37382b63cc75f81a0be59d34894b3a505",
                2150008,
            ),
            _multi30k(
                "tok/train.lc.norm.tok.en",
                "08925f8e0572bcd5a006702fc5fe20e2d77c6917d4eebd576fc20de6693c2119",
                1837696,
            ),
            _multi30k(
                "tok/val.lc.norm.tok.de",
                "97232bd273eceb7207f689527386a97e4be2616b18ada47576bdaf96c8ae1f00",
                77273,
            ),
            _multi30k(
                "tok/val.lc.norm.tok.en",
                "46573ce391ae227f1c72f873392436a20ef18e0a6d518098cfbd70b77c8572ec",
                64608,
            ),
            _multi30k(
                "tok/test_2016_flickr.lc.norm.tok.de",
                "c6a33d39d48f9f510de147651316cd9d918e09ad0219df734a2f16b6baccacc4",
                71917,
            ),
            _multi30k(
                "tok/test_2016_flickr.lc.norm.tok.en",
                "5b7f32627cf99eced828311b955dae9800bb52bc8b91cf8b6526829e605b29d2",
                63307,
            ),
        ),
    ),
}


@dataclass
class Fetched:
    """What :func:`fetch` did: the data set's folder, its files, which were downloaded and which kept."""

    directory: Path
    files: list[Path]
    downloaded: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def cache_dir() -> Path:
    """(FE1) ``$XDG_CACHE_HOME/yetztml`` if that variable holds an absolute path, else ``~/.cache/yetztml``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "yetztml"


def sha256_of(path: str | os.PathLike) -> str:
    """The hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


Advance = Callable[[int], None]


def _open(url: str, offset: int, timeout: float) -> tuple[object, int]:
    """The response and the offset its body starts at (0 when the server sent the whole file)."""
    headers = {"User-Agent": "yetztml"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # the part is already complete (or longer than the file)
            return None, offset
        raise DataError(message(url, "HTTP 200", f"HTTP {err.code} {err.reason}")) from err
    except (urllib.error.URLError, OSError, HTTPException) as err:
        reason = getattr(err, "reason", err)
        raise DataError(
            message(url, "a reachable server", reason, f"Check the network, or set {ENV_URL} to a mirror.")
        ) from err
    if response.status == 206:
        start = response.headers.get("Content-Range", "").removeprefix("bytes ").split("-")[0]
        if start != str(offset):
            response.close()
            raise DataError(message(url, f"content from byte {offset}", f"Content-Range {start!r}"))
        return response, offset
    return response, 0


def download(
    url: str, dest: Path, sha256: str, *, advance: Advance | None = None, timeout: float = 60.0
) -> None:
    """(FE3)–(FE4) Download ``url`` to ``dest`` through ``dest.part``, resuming it; verify the sum."""
    part = dest.with_name(dest.name + ".part")
    for attempt in range(2):
        offset = part.stat().st_size if part.exists() else 0
        response, start = _open(url, offset, timeout)
        if response is not None:
            if advance is not None and start != offset:
                advance(start - offset)  # the server restarted from 0: the progress goes back
            try:
                with response, open(part, "ab" if start else "wb") as out:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        if advance is not None:
                            advance(len(chunk))
            except (OSError, HTTPException) as err:
                size = part.stat().st_size if part.exists() else 0
                raise DataError(
                    message(
                        url,
                        "a complete download",
                        f"an interruption after {size} bytes ({err})",
                        "Run the same command again to resume.",
                    )
                ) from err
        actual = sha256_of(part)
        if actual == sha256:
            os.replace(part, dest)
            return
        had = part.stat().st_size
        part.unlink()
        if offset == 0 or attempt == 1:
            raise DataError(
                message(
                    os.fspath(dest),
                    f"sha256 {sha256}",
                    actual,
                    "The download was deleted: the source or the connection changed the file.",
                )
            )
        if advance is not None:
            advance(-had)  # (FE4) a resumed download that fails its sum: once more from the start


def _progress(enabled: bool):
    """A rich progress display on a terminal, or None."""
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
    )


def fetch(
    name: str,
    dir: str | os.PathLike | None = None,
    *,
    base_url: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Fetched:
    """Make every file of data set ``name`` present and verified under ``DIR/NAME`` (rules (FE1)–(FE5)).

    ``progress`` shows a rich progress bar when standard error is a terminal. Errors (unknown name,
    unreachable server, HTTP error, interrupted download, wrong checksum) are :class:`DataError` /
    :class:`~yetztml.core.errors.OptionError` with one-line messages.
    """
    dataset = DATASETS[str(check_choice("fetch(name)", name, sorted(DATASETS)))]
    root = (Path(dir) if dir is not None else cache_dir()) / dataset.name
    base_url = base_url or os.environ.get(ENV_URL) or None
    result = Fetched(directory=root, files=[root / f.path for f in dataset.files])
    todo = []
    for f, dest in zip(dataset.files, result.files, strict=True):
        if dest.is_file() and sha256_of(dest) == f.sha256:  # (FE2)
            result.kept.append(f.path)
            continue
        if dest.exists():
            dest.unlink()
        todo.append((f, dest))
    try:
        for _, dest in todo:
            dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(
            message(os.fspath(root), "a folder that can be written", err, "Pass another dir.")
        ) from err
    display = _progress(progress) if todo else None
    if display is not None:
        display.start()
    try:
        for f, dest in todo:
            url = f"{base_url.rstrip('/')}/{dataset.name}/{f.path}" if base_url else f.url  # (FE5)
            advance = None
            if display is not None:
                part = dest.with_name(dest.name + ".part")
                done = part.stat().st_size if part.exists() else 0
                task = display.add_task(f"{dataset.name}/{f.path}", total=f.size, completed=done)
                advance = lambda n, task=task: display.advance(task, n)
            download(url, dest, f.sha256, advance=advance, timeout=timeout)
            result.downloaded.append(f.path)
    finally:
        if display is not None:
            display.stop()
    return result
