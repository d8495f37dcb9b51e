"""trafilatura extraction, and a child process that runs it under a time limit.

This module imports neither Beam nor anything of ours that does: the child is started with
``python -m newsflow.transforms.extractor`` so it loads only trafilatura (about a second)
instead of a whole Beam worker (multiprocessing's spawn would re-import the parent's main
module, which in a Beam SDK worker is Beam itself). Parent and child exchange length-prefixed
pickles over pipes.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys

_FRAME = struct.Struct(">I")


def _split_keywords(values) -> tuple[str, ...]:
    out = []
    for value in values or ():
        out.extend(part.strip() for part in str(value).split(","))
    return tuple(part for part in out if part)


def extract_html(html: str, url: str | None) -> dict | None:
    """trafilatura's text and metadata for one page, as plain picklable values (or None)."""
    import trafilatura

    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False,
        deduplicate=False,
        date_extraction_params={"extensive_search": False, "original_date": True})
    if document is None or not (document.text or "").strip():
        return None
    authors = tuple(a.strip() for a in (document.author or "").split(";") if a.strip())
    return {"text": document.text, "title": document.title, "url": document.url,
            "authors": authors, "site_name": document.sitename,
            "tags": _split_keywords(document.categories) + _split_keywords(document.tags),
            "date": document.date, "page_type": document.pagetype}


class ExtractionTimeout(Exception):
    pass


class ExtractionFailed(Exception):
    pass


def _write_frame(stream, payload) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _read_exact(stream, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream):
    (size,) = _FRAME.unpack(_read_exact(stream, _FRAME.size))
    return pickle.loads(_read_exact(stream, size))


def serve(stdin=None, stdout=None) -> None:
    """Child loop: read ``(html, url)`` frames, answer ``("ok", result)`` or ``("error", msg)``."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    while True:
        try:
            html, url = _read_frame(stdin)
        except EOFError:
            return
        try:
            answer = ("ok", extract_html(html, url))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as this page's error
            answer = ("error", f"{type(exc).__name__}: {exc}")
        _write_frame(stdout, answer)


class ExtractorProcess:
    """A child process running :func:`extract_html`, killed and restarted on timeout.

    Started lazily on the first page, so workers that only see text records never pay for it.
    """

    def __init__(self):
        self._process: subprocess.Popen | None = None

    def _start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "newsflow.transforms.extractor"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def extract(self, html: str, url: str | None, timeout_s: float) -> dict | None:
        if self._process is None or self._process.poll() is not None:
            self._start()
        try:
            _write_frame(self._process.stdin, (html, url))
        except (BrokenPipeError, OSError) as exc:
            self.close()
            raise ExtractionFailed("extractor process died") from exc
        ready, _, _ = select.select([self._process.stdout], [], [], timeout_s)
        if not ready:
            self.close()
            raise ExtractionTimeout(f"extraction took longer than {timeout_s:g}s")
        try:
            status, payload = _read_frame(self._process.stdout)
        except (EOFError, pickle.UnpicklingError, struct.error) as exc:
            self.close()  # the child died (e.g. out of memory): the next call starts afresh
            raise ExtractionFailed("extractor process died") from exc
        if status == "error":
            raise ExtractionFailed(payload)
        return payload

    def close(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                continue


if __name__ == "__main__":
    serve()
