"""Where every record went: the run summary behind ``read = written + duplicates + dead + skips``.

Counts are computed from the outcome PCollections themselves (not only from Beam metrics), so
the summary is exact on every runner and a test can assert the equation inside the pipeline.

``balanced`` means every record the readers reached is accounted for. It cannot count records
in bytes nobody could read: a file that ends early (a corrupt or cut-off gzip stream, an
archive warcio cannot parse further) is one *file-level loss*, a dead letter with
``unread_bytes`` and a replay pointer to the unread rest. The summary counts those separately
(``file_losses``, ``unread_bytes``) and its text says so next to the equation, so a balanced
run never hides unread data.

Dead letters of ``COPY_STAGES`` (an exchange the WARC archive could not hold) are not records:
the record itself went on through processing. They are written with the other dead letters and
counted as ``archive_failures``, outside the equation.
"""

from __future__ import annotations

from collections import Counter

import apache_beam as beam

from newsflow.schemas import Article, DeadLetter, Skip, SkipBatch, single_skips
from newsflow.transforms.sinks import RUNS_DIR, join, window_commit_id, write_json_atomic

#: Stages that find input records: their skips and dead letters were never handed to
#: processing, so they count as read records on their own (a feed entry already seen, an
#: article that failed to download, a broken archive record).
SOURCE_STAGES = ("read", "feed", "fetch")
#: Stages that copy what was read (the WARC archive of live exchanges).
COPY_STAGES = ("archive",)
#: Feed entries listed again after an earlier poll ended them: reported, outside the equation.
KNOWN_ENTRIES = "feed_entries_known"


def outcome_keys(element) -> str:
    """The summary bucket of one outcome: ``article``, ``duplicate``, ``dead:<stage>:<reason>``,
    ``skip:<stage>:<reason>``, ``archive_failures`` for a copy that failed, or ``record`` for a
    record handed from reading to processing."""
    if isinstance(element, Article):
        return "duplicate" if element.is_duplicate else "article"
    if isinstance(element, DeadLetter) and element.stage in COPY_STAGES:
        return "archive_failures"
    if isinstance(element, DeadLetter):
        return f"dead:{element.stage}:{element.reason}"
    if isinstance(element, Skip):
        return f"skip:{element.stage}:{element.reason}"
    return "record"


def outcome_counts(element) -> list[tuple[str, int]]:
    """``(bucket, amount)`` pairs of one outcome: its :func:`outcome_keys` bucket (each skip of
    a SkipBatch in its own, and its known entries as ``feed_entries_known``), and for a
    file-level loss also ``file_losses`` and ``unread_bytes``."""
    if isinstance(element, SkipBatch):
        counts = Counter(outcome_keys(skip) for skip in single_skips(element))
        if element.known:
            counts[KNOWN_ENTRIES] += element.known
        return sorted(counts.items())
    counts = [(outcome_keys(element), 1)]
    if isinstance(element, DeadLetter) and element.unread_bytes is not None:
        counts += [("file_losses", 1), ("unread_bytes", element.unread_bytes)]
    return counts


def summarize(counts: dict[str, int]) -> dict:
    """Turn bucket counts into the run summary and check that nothing was lost."""
    dead = Counter({k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("dead:")})
    skipped = Counter({k.split(":", 1)[1]: v for k, v in counts.items()
                       if k.startswith("skip:")})
    read_dead = sum(v for k, v in dead.items() if k.split(":")[0] in SOURCE_STAGES)
    read_skipped = sum(v for k, v in skipped.items() if k.split(":")[0] in SOURCE_STAGES)
    read = counts.get("record", 0) + read_dead + read_skipped
    written, duplicates = counts.get("article", 0), counts.get("duplicate", 0)
    dead_total, skipped_total = sum(dead.values()), sum(skipped.values())
    return {
        "read": read, "written": written, "duplicates": duplicates,
        "dead_letters": dead_total, "skipped": skipped_total,
        "file_losses": counts.get("file_losses", 0), "unread_bytes": counts.get("unread_bytes", 0),
        "archive_failures": counts.get("archive_failures", 0),
        KNOWN_ENTRIES: counts.get(KNOWN_ENTRIES, 0),
        "dead_letters_by_reason": dict(sorted(dead.items())),
        "skipped_by_reason": dict(sorted(skipped.items())),
        "balanced": read == written + duplicates + dead_total + skipped_total,
        "dead_letter_ratio": round(dead_total / read, 6) if read else 0.0,
    }


def format_summary(summary: dict) -> str:
    lines = [f"read {summary['read']} = written {summary['written']} + duplicates "
             f"{summary['duplicates']} + dead letters {summary['dead_letters']} + skipped "
             f"{summary['skipped']}  ({'balanced' if summary['balanced'] else 'NOT BALANCED'})"]
    if summary.get("file_losses"):
        lines.append(f"  {summary['file_losses']} file(s) could not be read to the end: "
                     f"{summary['unread_bytes']:,} bytes unread, each a dead letter with "
                     "`unread_bytes` and a `replay` pointer to the rest")
    if summary.get("archive_failures"):
        lines.append(f"  {summary['archive_failures']} exchange(s) could not be archived to WARC "
                     "(dead letters of stage archive; their records were processed)")
    if summary.get(KNOWN_ENTRIES):
        lines.append(f"  {summary[KNOWN_ENTRIES]} feed entries listed again after an earlier "
                     "poll (already a row, skip or dead letter; not read again)")
    for title, key in (("dead letters", "dead_letters_by_reason"),
                       ("skipped", "skipped_by_reason")):
        for reason, count in summary[key].items():
            lines.append(f"  {title:<12} {reason:<32} {count}")
    return "\n".join(lines)


class SummarizeRun(beam.PTransform):
    """Count outcomes into one summary dict per window (one per run in batch).

    Input: a tuple of PCollections of reader records, skips, dead letters and articles. In
    batch an empty run still gets its (all-zero) summary; windowed, only windows with data do.
    """

    def __init__(self, windowed: bool = False):
        super().__init__()
        self._windowed = windowed

    def expand(self, pcolls):
        to_dict = beam.combiners.ToDict()
        if self._windowed:
            to_dict = to_dict.without_defaults()
        # key each input where it is produced, so only small keys travel, never page bodies
        keyed = [pcoll | f"OutcomeKey{index}" >> beam.FlatMap(outcome_counts)
                 for index, pcoll in enumerate(pcolls)]
        return (keyed
                | "FlattenOutcomes" >> beam.Flatten()
                | "CountOutcomes" >> beam.CombinePerKey(sum)
                | "CollectCounts" >> to_dict
                | "Summarize" >> beam.Map(summarize))


class _WriteSummaryFn(beam.DoFn):
    def __init__(self, runs_dir: str, base_commit_id: str, run_info: dict):
        self._runs_dir = runs_dir
        self._base_commit_id = base_commit_id
        self._run_info = run_info

    def process(self, summary, window=beam.DoFn.WindowParam):
        commit_id = window_commit_id(self._base_commit_id, window)
        document = dict(summary, commit_id=commit_id, run=self._run_info)
        write_json_atomic(join(self._runs_dir, f"{commit_id}.json"), document)
        yield document


class WriteRunSummary(beam.PTransform):
    """Write the summary as ``OUTPUT/runs/<commit_id>.json`` (machine-readable)."""

    def __init__(self, output: str, commit_id: str, run_info: dict | None = None):
        super().__init__()
        self._runs_dir = join(output, RUNS_DIR)
        self._commit_id = commit_id
        self._run_info = run_info or {}

    def expand(self, summaries):
        return summaries | "WriteSummary" >> beam.ParDo(
            _WriteSummaryFn(self._runs_dir, self._commit_id, self._run_info))
