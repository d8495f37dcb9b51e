"""The one output schema of newsflow: every article row, as Parquet, documented field by field.

Versioning: ``SCHEMA_VERSION`` grows whenever a column is added. Columns are only ever added,
never renamed or retyped, and every added column is nullable, so a dataset holding partitions
written by older versions stays readable as one (readers see nulls for the new columns).
``FIELDS_ADDED`` records which version introduced which columns.

Re-writes: the same ``article_id`` can be written more than once (a re-fetch, an edited page, a
backfill over overlapping dumps). The row with the newest ``ingested_at`` wins (ties: newest
``fetched_at``); ``LATEST_ARTICLES_SQL`` and ``read_latest_articles`` in
``newsflow.transforms.catalog`` apply it.

The rows live in a Delta Lake table (``OUTPUT/articles``) partitioned by ``dt`` and ``lang``
(``PARTITION_FIELDS``): partition values are kept in the Delta log, not inside the Parquet
files, so ``table_schema()`` is the article schema plus those two columns.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 6

_UTC_US = pa.timestamp("us", tz="UTC")

#: name -> (arrow type, nullable, documentation). The single place fields are documented.
FIELDS: dict[str, tuple[pa.DataType, bool, str]] = {
    "article_id": (pa.string(), False,
                   "Stable id: 16 hex chars of SHA-256 over the normalized canonical URL "
                   "(tracking parameters, fragment, `www.` and trailing `/` removed), or over "
                   "`content_hash` when the record has no URL."),
    "url": (pa.string(), True, "Canonical URL (page `<link rel=canonical>` / og:url when on the "
                               "same site), else the fetched or archived URL."),
    "domain": (pa.string(), True, "Lower-case host of `url` without a leading `www.`."),
    "title": (pa.string(), True, "Headline: page metadata, else the record's title, else the "
                                 "first line of a text dump when it reads as a headline."),
    "text": (pa.string(), False, "Cleaned article body: paragraphs separated by a blank line, "
                                 "boilerplate, dateline and wire credit removed."),
    "published_at": (_UTC_US, True, "Publication instant in UTC; null when no trustworthy date "
                                     "was found. A day-only date is 00:00 UTC of that calendar "
                                     "day (`published_precision` = `day`)."),
    "date_source": (pa.string(), True, "Where published_at came from: feed, archive_record, "
                                       "text_dump_prefix, json_ld, opengraph, itemprop, meta, "
                                       "time_element, json_ld_created, itemprop_created, "
                                       "htmldate, url or text (rows before schema 4: "
                                       "page_metadata for any page date)."),
    "fetched_at": (_UTC_US, True, "When the page was captured (WARC-Date, feed fetch time, "
                                   "JSONL fetched_at); never used as a publication date."),
    "language": (pa.string(), False, "langdetect code, lower-case (en, de, zh-cn); `und` when "
                                     "the text is shorter than the documented minimum."),
    "language_prob": (pa.float32(), True, "langdetect's probability for `language` (null for "
                                          "`und`)."),
    "wire": (pa.string(), True, "Wire-service credit found in the text (AP, Reuters, AFP...)."),
    "dateline": (pa.string(), True, "Dateline that opened the text, e.g. `SEOUL` or "
                                    "`WASHINGTON (AP)`, without its trailing dash or colon."),
    "authors": (pa.list_(pa.string()), False, "Bylines from page metadata, in page order."),
    "tags": (pa.list_(pa.string()), False, "Categories and keywords declared by the feed entry, "
                                            "archive record or page metadata: lower-case, "
                                            "trimmed, de-duplicated, sorted."),
    "site_name": (pa.string(), True, "Publisher name from page metadata (og:site_name)."),
    "content_hash": (pa.string(), False, "SHA-256 hex of the normalized cleaned text "
                                         "(case-folded, whitespace collapsed)."),
    "source_format": (pa.string(), False, "What produced the record: warc, arc, jsonl, "
                                          "text_dump, html_file or feed."),
    "source_ref": (pa.string(), False, "Where to find the raw input again: `file@offset` for "
                                       "archives, `file:line` for JSONL, the file for others."),
    "feed_url": (pa.string(), True, "Feed the article was found in (streaming ingestion)."),
    "versions": (pa.map_(pa.string(), pa.string()), False,
                 "Versions that produced the row: newsflow, trafilatura, langdetect."),
    "ingested_at": (_UTC_US, False, "When newsflow wrote the row. The newest row per "
                                    "article_id wins."),
    "schema_version": (pa.int32(), False, "SCHEMA_VERSION of the writer."),
}

FIELDS.update({
    "cluster_id": (pa.string(), True, "article_id of the canonical article of this story's "
                                      "near-duplicate cluster (its own id for a canonical)."),
    "duplicate_of": (pa.string(), True, "article_id of the canonical when this row is a "
                                        "near-duplicate, else null."),
    "is_duplicate": (pa.bool_(), True, "True for a near-duplicate of an earlier article."),
    "similarity": (pa.float32(), True, "Shingle similarity to the canonical (1.0 for the "
                                       "canonical itself)."),
})
FIELDS.update({
    "topics": (pa.list_(pa.string()), True, "Labels from the topic tagger's taxonomy "
                                            "(transforms/data/taxonomy.yaml)."),
    "tagger_version": (pa.string(), True, "Name and version of the topic tagger that set "
                                          "`topics`."),
})
FIELDS.update({
    "published_offset_min": (pa.int16(), True, "UTC offset, in minutes, of published_at as the "
                                               "source gave it (e.g. -300 for New York in "
                                               "winter): stated with the date, shown elsewhere "
                                               "on the page, or, for a time shown without one, "
                                               "the zone of the page's country or language; "
                                               "null when unknown. The publisher's local time "
                                               "is published_at plus it."),
    "published_precision": (pa.string(), True, "`time` when the source gave a time of day, "
                                               "`day` when it gave only a date."),
    "modified_at": (_UTC_US, True, "Last modification the page declares (JSON-LD "
                                   "dateModified, article:modified_time...), in UTC."),
})
FIELDS.update({
    "commit_id": (pa.string(), True, "The backfill run or stream window that committed the row "
                                     "(`runs/<commit_id>.json` is its summary); a backfill "
                                     "re-run replaces exactly the rows carrying its id. Null "
                                     "in rows written before schema version 5."),
})
FIELDS.update({
    "story_id": (pa.string(), True, "article_id of the first article of this row's story: "
                                    "reports of one event, by any outlet, within the story "
                                    "horizon (60 days); stable once assigned "
                                    "(docs/stories.md)."),
    "story_size": (pa.int32(), True, "Articles in the story when the row was written "
                                     "(streaming: so far, this one included; batch: in the "
                                     "run)."),
    "story_first_seen_at": (_UTC_US, True, "Time of the story's first article: its "
                                           "publication time in a backfill, its event time "
                                           "in streaming; null when undated."),
})

#: Schema version -> the columns it added (all nullable after version 1).
FIELDS_ADDED: dict[int, tuple[str, ...]] = {
    1: tuple(FIELDS)[: tuple(FIELDS).index("schema_version") + 1],
    2: ("cluster_id", "duplicate_of", "is_duplicate", "similarity"),
    3: ("topics", "tagger_version"),
    4: ("published_offset_min", "published_precision", "modified_at"),
    5: ("commit_id",),
    6: ("story_id", "story_size", "story_first_seen_at"),
}


def article_schema(version: int = SCHEMA_VERSION) -> pa.Schema:
    """The Arrow schema of article rows as written by ``version`` (default: the current one)."""
    names = [name for v in sorted(FIELDS_ADDED) if v <= version for name in FIELDS_ADDED[v]]
    fields = [pa.field(name, FIELDS[name][0], nullable=FIELDS[name][1],
                       metadata={"doc": FIELDS[name][2]}) for name in names]
    return pa.schema(fields, metadata={"newsflow.schema_version": str(version)})


ARTICLE_SCHEMA = article_schema()

#: The Delta table's partition columns, in path order: OUTPUT/articles/dt=YYYY-MM-DD/lang=xx/.
#: name -> (arrow type, documentation); not stored inside the Parquet files.
PARTITION_FIELDS: dict[str, tuple[pa.DataType, str]] = {
    "dt": (pa.date32(), "UTC date of `published_at`; null (Delta's null partition, stored as "
                        "`dt=__HIVE_DEFAULT_PARTITION__`) when the article is undated."),
    "lang": (pa.string(), "`language` as a path-safe code; `und` for anything else."),
}
PARTITION_COLUMNS = tuple(PARTITION_FIELDS)


def table_schema(version: int = SCHEMA_VERSION) -> pa.Schema:
    """The Delta table's schema for writer ``version``: article columns, then ``dt``, ``lang``."""
    schema = article_schema(version)
    for name, (arrow_type, doc) in PARTITION_FIELDS.items():
        schema = schema.append(pa.field(name, arrow_type, nullable=True, metadata={"doc": doc}))
    return schema
