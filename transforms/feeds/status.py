"""The operator's view of every feed: health per poll, snapshots per window, the CLI table."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import apache_beam as beam

from newsflow.schemas.feeds import (
    FeedStatus,
    PollState,
)
from newsflow.transforms.sinks import WriteWindowFile, join, read_json_files

FAILING_AFTER = 3
QUIET_AFTER = 3


def feed_status(state: PollState) -> FeedStatus:
    """The operator's view of one feed (see ``FeedStatus.health`` for the judgement)."""
    if state.last_poll_at is None:
        health = "pending"
    elif state.consecutive_failures >= FAILING_AFTER:
        health = "failing"
    elif state.consecutive_failures:
        health = "degraded"
    elif state.consecutive_unchanged >= QUIET_AFTER:
        health = "quiet"
    else:
        health = "ok"
    return FeedStatus(
        feed_url=state.feed_url, health=health, last_status=state.last_status,
        last_error=state.last_error, last_poll_at=state.last_poll_at,
        last_success_at=state.last_success_at, next_poll_at=state.next_poll_at,
        interval_s=state.interval_s, consecutive_failures=state.consecutive_failures,
        consecutive_unchanged=state.consecutive_unchanged,
        entries_seen_total=state.entries_seen_total,
        conditional_get=bool(state.etag or state.last_modified), moved_to=state.moved_to)


FEEDS_DIR = "feeds"


def status_to_json(status) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in dataclasses.asdict(status).items()}


def latest_per_feed(rows) -> list[dict]:
    """The newest row (by ``last_poll_at``) of every feed, sorted by feed URL."""
    latest: dict[str, dict] = {}
    for row in rows:
        previous = latest.get(row["feed_url"])
        if previous is None or (row["last_poll_at"] or "") >= (previous["last_poll_at"] or ""):
            latest[row["feed_url"]] = row
    return sorted(latest.values(), key=lambda r: r["feed_url"])


def status_snapshot(statuses) -> bytes:
    """One window's feed statuses as the JSON snapshot ``newsflow feeds status`` reads."""

    rows = latest_per_feed(status_to_json(status) for status in statuses)
    return json.dumps(rows, indent=2, sort_keys=True).encode()


class WriteFeedStatus(beam.PTransform):
    """Per window, the latest FeedStatus of every feed polled, as ``OUTPUT/feeds/status-*.json``."""

    def __init__(self, output: str, commit_id: str):
        super().__init__()
        self._write = WriteWindowFile(join(output, FEEDS_DIR), commit_id,
                                      "status-{commit_id}.json", status_snapshot,
                                      "application/json")

    def expand(self, statuses):
        return statuses | "WriteSnapshot" >> self._write


def read_feed_status(output: str) -> list[dict]:
    """The newest status of every feed across all snapshots under ``OUTPUT/feeds/``."""
    snapshots = read_json_files(join(output, FEEDS_DIR, "status-*.json"))
    return latest_per_feed(row for snapshot in snapshots for row in snapshot)


def format_feed_status(rows: list[dict]) -> str:
    """The ``newsflow feeds status`` table: one line per feed, pending ones with their first
    poll time, moved ones with the URL polled now (``moved → URL``)."""
    if not rows:
        return "no feed status yet (has the stream run and closed a window?)"
    header = f"{'health':<12} {'status':>6} {'fails':>5} {'interval':>9} {'seen':>6}  " \
             f"{'last poll (UTC)':<20} feed"
    lines = [header]
    for row in rows:
        interval = f"{row['interval_s']:.0f}s" if row.get("interval_s") else "-"
        last_poll = (row.get("last_poll_at") or "-")[:19]
        notes = []
        if row["health"] == "pending" and row.get("next_poll_at"):
            notes.append(f"first poll {row['next_poll_at'][11:19]}")
        if row.get("moved_to"):
            notes.append(f"moved \u2192 {row['moved_to']}")
        if row.get("last_error"):
            notes.append(row["last_error"])
        lines.append(f"{row['health']:<12} {row['last_status'] or '-':>6} "
                     f"{row['consecutive_failures']:>5} {interval:>9} "
                     f"{row['entries_seen_total']:>6}  {last_poll:<20} {row['feed_url']}"
                     + (f"  ({'; '.join(notes)})" if notes else ""))
    return "\n".join(lines)
