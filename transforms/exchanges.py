"""Archive every live HTTP exchange as WARC, so any window can be re-processed by a backfill.

A fetched article's feed entry (title, dates, tags, feed) travels in a ``Newsflow-Feed-Entry``
WARC header of its response record; the archive reader turns it back into the same
``RawRecord`` fields, so live → WARC → backfill gives the same article rows (except
``source_format``, ``source_ref`` and ``ingested_at``). Bodies are archived as received after
our client removed their Content-Encoding, so that header is dropped from the archived
response and Content-Length describes the stored body.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import apache_beam as beam

from newsflow.schemas import Exchange, RawRecord
from newsflow.schemas.feeds import FeedEntry
from newsflow.transforms.dates import parse_iso_datetime
from newsflow.transforms.sinks import WriteWindowFile, join
from newsflow.transforms.stage import DEAD, MAIN, OutcomeCounters, guarded

WARC_DIR = "warc"
ARCHIVE = "archive"  # the stage name of archiving: counters and dead letters
ENTRY_HEADER = "Newsflow-Feed-Entry"
_DROPPED_RESPONSE_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


def entry_json(entry: FeedEntry) -> str:
    """The feed-entry facts an article row takes from its feed, as one ASCII JSON line."""
    return json.dumps({
        "feed_url": entry.feed_url, "link": entry.link, "title": entry.title,
        "tags": list(entry.tags),
        "published_at": entry.published_at.isoformat() if entry.published_at else None,
    }, ensure_ascii=True, sort_keys=True)


def record_fields_from_entry(text: str | None) -> dict:
    """RawRecord keyword arguments carried by an entry JSON (empty when there is none)."""
    if not text:
        return {}
    data = json.loads(text)
    published = parse_iso_datetime(data.get("published_at"))
    return {"title": data.get("title"), "tags": tuple(data.get("tags") or ()),
            "feed_url": data.get("feed_url"), "published_at": published,
            "published_source": "feed" if published else None}


def record_from_exchange(exchange: Exchange, body_text: str, source_ref: str) -> RawRecord:
    """The RawRecord of a fetched article page: what live fetching and WARC reading share."""
    return RawRecord(url=exchange.url, body=body_text, body_kind="html", source_format="feed",
                     source_ref=source_ref, fetched_at=exchange.fetched_at,
                     **record_fields_from_entry(exchange.entry_json))


def _http_reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def exchange_warc(exchange: Exchange) -> bytes:
    """One exchange as WARC: its response and request records, each its own gzip member (so
    exchanges encoded apart concatenate into one valid gzip-per-record WARC)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    date = exchange.fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = [(k, v) for k, v in exchange.response_headers
               if k.lower() not in _DROPPED_RESPONSE_HEADERS]
    headers.append(("Content-Length", str(len(exchange.body))))
    warc_headers = {"WARC-Date": date}
    if exchange.remote_ip:
        warc_headers["WARC-IP-Address"] = exchange.remote_ip
    if exchange.entry_json:
        warc_headers[ENTRY_HEADER] = exchange.entry_json
    response = writer.create_warc_record(
        exchange.url, "response", payload=io.BytesIO(exchange.body),
        http_headers=StatusAndHeaders(f"{exchange.status} {_http_reason(exchange.status)}",
                                      headers, protocol="HTTP/1.1"),
        warc_headers_dict=warc_headers)
    path = exchange.url.split("://", 1)[-1].partition("/")[2]
    request = writer.create_warc_record(
        exchange.url, "request", payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders(f"GET /{path} HTTP/1.1",
                                      list(exchange.request_headers), is_http_request=True),
        warc_headers_dict={"WARC-Date": date,
                           "WARC-Concurrent-To": response.rec_headers.get_header(
                               "WARC-Record-ID")})
    writer.write_record(response)
    writer.write_record(request)
    return buffer.getvalue()


def archive_order(exchange: Exchange) -> tuple[datetime, str]:
    return exchange.fetched_at, exchange.url


def warc_bytes(exchanges: list[Exchange]) -> bytes:
    """A gzip-per-record WARC holding a request and a response record per exchange."""
    return b"".join(exchange_warc(e) for e in sorted(exchanges, key=archive_order))


def _joined_in_order(encoded: list[tuple[tuple[datetime, str], bytes]]) -> bytes:
    return b"".join(data for _, data in sorted(encoded, key=lambda pair: pair[0]))


class _EncodeExchangeFn(beam.DoFn):
    """Exchange -> ``(archive order, WARC bytes)``; one that cannot be written (whatever a
    server sent) is its dead letter, and the rest of the window is archived."""

    def setup(self):
        self._counters = OutcomeCounters(ARCHIVE)

    def process(self, exchange: Exchange):
        yield from guarded(ARCHIVE, exchange, self._encode(exchange), self._counters)

    def _encode(self, exchange: Exchange):
        yield archive_order(exchange), exchange_warc(exchange)


class ArchiveExchanges(beam.PTransform):
    """Write each window's exchanges to ``OUTPUT/warc/<commit>.warc.gz``.

    Returns the dead letters (stage ``archive``) of exchanges that could not be encoded: copies
    that failed, not lost records (the run summary counts them as ``archive_failures``).
    """

    def __init__(self, output: str, commit_id: str):
        super().__init__()
        self._write = WriteWindowFile(join(output, WARC_DIR), commit_id,
                                      "{commit_id}.warc.gz", _joined_in_order,
                                      "application/warc")

    def expand(self, exchanges):
        encoded = exchanges | "Encode" >> beam.ParDo(_EncodeExchangeFn()).with_outputs(
            DEAD, main=MAIN)
        encoded[MAIN] | "WriteWarc" >> self._write
        return encoded[DEAD]


def now_to_second() -> datetime:
    """Fetch times are kept to the second: what a WARC-Date can hold, so replays match."""
    return datetime.now(UTC).replace(microsecond=0)
