"""fetch (FE1)–(FE5) against a local HTTP server on 127.0.0.1: download, verify, refuse, resume, cache; the CLI."""

from __future__ import annotations

import functools
import hashlib
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from yetztml.cli.main import main
from yetztml.core.errors import DataError, OptionError
from yetztml.data import DATASETS, cache_dir, fetch, sha256_of
from yetztml.data.fetch import ENV_URL

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SARCASM_SHA = "7f17ec26032b3e24a4427ccec6315c95fad854e6bc31e92fdf74a979ef30a373"
CSV = "Sarcasm_Headlines_Dataset.csv"


@pytest.fixture(scope="module")
def shared() -> Path:
    if not (SHARED / "sarcasm" / CSV).is_file():
        pytest.fail(f"the real data sets are not at {SHARED} (the project expects them in ../shared/data)")
    return SHARED


class RangeHandler(SimpleHTTPRequestHandler):
    """http.server's file handler plus single ``bytes=N-`` ranges; logs each request on the server."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        rng = self.headers.get("Range")
        self.server.requests.append((self.path, rng))
        if not self.server.ranges:
            return super().do_GET()
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            return self.send_error(404)
        data = path.read_bytes()
        start = int(rng.removeprefix("bytes=").rstrip("-")) if rng else 0
        if start >= len(data) and rng:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.server.sent += len(data) - start  # before the write: the client may finish reading (and the
        self.wfile.write(data[start:])  # test check the count) before this thread runs again
        return None


@pytest.fixture
def serve():
    """serve(folder, ranges=True) → base URL of a server on 127.0.0.1 (stopped after the test)."""
    servers = []

    def start(folder: Path, ranges: bool = True):
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(folder)))
        server.requests, server.ranges, server.sent = [], ranges, 0
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _mirror(shared: Path, tmp_path: Path) -> Path:
    """A writable copy of the sarcasm folder, laid out like ../shared/data."""
    root = tmp_path / "mirror"
    (root / "sarcasm").mkdir(parents=True)
    shutil.copyfile(shared / "sarcasm" / CSV, root / "sarcasm" / CSV)
    return root


def test_pinned_sums_and_sizes_are_those_of_the_shared_data(shared):
    for name in ("sarcasm", "multi30k"):
        pinned = {f.path: f.sha256 for f in DATASETS[name].files}
        listed = dict(
            line.split()[::-1] for line in (shared / name / "SHA256SUMS").read_text().splitlines() if line
        )
        assert pinned == listed
        for f in DATASETS[name].files:
            assert (shared / name / f.path).stat().st_size == f.size, f.path
    assert DATASETS["sarcasm"].files[0].url == (
        "https://raw.githubusercontent.com/Chan5537/ling111-final-project-sarcasm-detection/"
        "57fd6d116820581314f4d7b576a88a865dbbb561/Sarcasm_Headlines_Dataset.csv"
    )


def test_fetch_downloads_verifies_and_then_keeps(shared, serve, tmp_path):
    url, server = serve(shared)
    result = fetch("sarcasm", tmp_path / "cache", base_url=url, progress=False)
    dest = tmp_path / "cache" / "sarcasm" / CSV
    assert result.files == [dest] and result.directory == tmp_path / "cache" / "sarcasm"
    assert (result.downloaded, result.kept) == ([CSV], [])
    assert sha256_of(dest) == SARCASM_SHA and not dest.with_name(CSV + ".part").exists()
    assert server.requests == [(f"/sarcasm/{CSV}", None)]
    again = fetch("sarcasm", tmp_path / "cache", base_url=url, progress=False)
    assert (again.downloaded, again.kept) == ([], [CSV]) and len(server.requests) == 1  # no new request


def test_fetch_all_of_multi30k(shared, serve, tmp_path):
    url, _ = serve(shared)
    result = fetch("multi30k", tmp_path, base_url=url + "/", progress=False)
    assert len(result.downloaded) == 12
    for f, path in zip(DATASETS["multi30k"].files, result.files, strict=True):
        assert path == tmp_path / "multi30k" / f.path and sha256_of(path) == f.sha256


def test_a_file_whose_sum_differs_is_refused_and_deleted(shared, serve, tmp_path):
    root = _mirror(shared, tmp_path)
    tampered = root / "sarcasm" / CSV
    data = bytearray(tampered.read_bytes())
    data[100] ^= 1
    tampered.write_bytes(bytes(data))
    actual = hashlib.sha256(bytes(data)).hexdigest()
    url, _ = serve(root)
    with pytest.raises(DataError) as err:
        fetch("sarcasm", tmp_path / "cache", base_url=url, progress=False)
    dest = tmp_path / "cache" / "sarcasm" / CSV
    assert str(err.value) == (
        f"{dest}: expected sha256 {SARCASM_SHA}, got {actual}. "
        "The download was deleted: the source or the connection changed the file."
    )
    assert not dest.exists() and not dest.with_name(CSV + ".part").exists()


def test_an_interrupted_download_resumes_with_a_range_request(shared, serve, tmp_path):
    url, server = serve(shared)
    dest = tmp_path / "sarcasm" / CSV
    dest.parent.mkdir()
    whole = (shared / "sarcasm" / CSV).read_bytes()
    dest.with_name(CSV + ".part").write_bytes(whole[:1_000_000])
    result = fetch("sarcasm", tmp_path, base_url=url, progress=False)
    assert server.requests == [(f"/sarcasm/{CSV}", "bytes=1000000-")]
    assert server.sent == len(whole) - 1_000_000  # only the rest travelled
    assert result.downloaded == [CSV] and sha256_of(dest) == SARCASM_SHA


def test_a_damaged_part_is_downloaded_again_from_the_start(shared, serve, tmp_path):
    url, server = serve(shared)
    part = tmp_path / "sarcasm" / (CSV + ".part")
    part.parent.mkdir()
    part.write_bytes(b"x" * 5000)
    fetch("sarcasm", tmp_path, base_url=url, progress=False)
    assert server.requests == [(f"/sarcasm/{CSV}", "bytes=5000-"), (f"/sarcasm/{CSV}", None)]
    assert sha256_of(tmp_path / "sarcasm" / CSV) == SARCASM_SHA and not part.exists()


def test_a_server_without_ranges_sends_the_whole_file_which_replaces_the_part(shared, serve, tmp_path):
    url, server = serve(shared, ranges=False)  # plain http.server ignores Range
    part = tmp_path / "sarcasm" / (CSV + ".part")
    part.parent.mkdir()
    part.write_bytes((shared / "sarcasm" / CSV).read_bytes()[:4096])
    fetch("sarcasm", tmp_path, base_url=url, progress=False)
    assert server.requests == [(f"/sarcasm/{CSV}", "bytes=4096-")]
    assert sha256_of(tmp_path / "sarcasm" / CSV) == SARCASM_SHA


def test_a_complete_part_is_verified_after_416(shared, serve, tmp_path):
    url, server = serve(shared)
    part = tmp_path / "sarcasm" / (CSV + ".part")
    part.parent.mkdir()
    shutil.copyfile(shared / "sarcasm" / CSV, part)
    fetch("sarcasm", tmp_path, base_url=url, progress=False)
    assert server.requests == [(f"/sarcasm/{CSV}", f"bytes={part.parent.joinpath(CSV).stat().st_size}-")]
    assert server.sent == 0 and sha256_of(tmp_path / "sarcasm" / CSV) == SARCASM_SHA


def test_a_present_file_with_another_sum_is_replaced(shared, serve, tmp_path):
    url, server = serve(shared)
    dest = tmp_path / "sarcasm" / CSV
    dest.parent.mkdir()
    dest.write_text("is_sarcastic,text\n0,edited\n")
    result = fetch("sarcasm", tmp_path, base_url=url, progress=False)
    assert result.downloaded == [CSV] and sha256_of(dest) == SARCASM_SHA and len(server.requests) == 1


def test_http_errors_unreachable_servers_and_unknown_names(serve, tmp_path):
    url, _ = serve(tmp_path / "empty")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=rf"{url}/sarcasm/{CSV}: expected HTTP 200, got HTTP 404 Not Found"):
        fetch("sarcasm", tmp_path / "cache", base_url=url, progress=False)
    with pytest.raises(
        DataError, match=rf"expected a reachable server, got .*Check the network, or set {ENV_URL}"
    ):
        fetch("sarcasm", tmp_path / "cache", base_url="http://127.0.0.1:9", progress=False, timeout=5)
    with pytest.raises(
        OptionError, match=r"fetch\(name\): expected one of 'multi30k', 'sarcasm', got 'imdb'"
    ):
        fetch("imdb", tmp_path)


def test_environment_variable_mirror_and_default_cache_dir(shared, serve, tmp_path, monkeypatch):
    url, server = serve(shared)
    monkeypatch.setenv(ENV_URL, url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "yetztml"
    result = fetch("sarcasm", progress=False)
    assert result.files == [tmp_path / "xdg" / "yetztml" / "sarcasm" / CSV] and len(server.requests) == 1
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "yetztml"


def test_cli_fetch_and_list(shared, serve, tmp_path, capsys):
    url, _ = serve(shared)
    assert main(["data", "list", "--dir", str(tmp_path)]) == 0
    assert "sarcasm: 1 files, 1.7 MB, not fetched" in capsys.readouterr().out
    assert main(["data", "fetch", "sarcasm", "--dir", str(tmp_path), "--base-url", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"data fetch sarcasm: into {tmp_path / 'sarcasm'} from {url}",
        f"data fetch sarcasm: 1 downloaded, 0 already present, all verified (sha256) in {tmp_path / 'sarcasm'}",
    ]
    assert main(["data", "list", "--dir", str(tmp_path)]) == 0
    assert f"sarcasm: 1 files, 1.7 MB, in {tmp_path / 'sarcasm'}" in capsys.readouterr().out


def test_cli_refusal_is_one_line_and_exit_2(shared, serve, tmp_path, capsys):
    root = _mirror(shared, tmp_path)
    (root / "sarcasm" / CSV).write_text("is_sarcastic,text\n")
    url, _ = serve(root)
    assert main(["data", "fetch", "sarcasm", "--dir", str(tmp_path / "c"), "--base-url", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"yetztml data: error: {tmp_path / 'c' / 'sarcasm' / CSV}: "
    )
    assert f"expected sha256 {SARCASM_SHA}, got " in err
