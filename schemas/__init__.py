"""Record types and the single Parquet schema of newsflow's output. Imports nothing of ours."""

from newsflow.schemas.article import (
    ARTICLE_SCHEMA,
    FIELDS,
    FIELDS_ADDED,
    PARTITION_COLUMNS,
    PARTITION_FIELDS,
    SCHEMA_VERSION,
    article_schema,
    table_schema,
)
from newsflow.schemas.records import (
    DATE_SOURCES,
    Article,
    DeadLetter,
    Draft,
    Exchange,
    PageFacts,
    RawRecord,
    ReplayPointer,
    Skip,
    SkipBatch,
    dead_letter,
    single_skips,
    skip_with_raw,
)

__all__ = [
    "ARTICLE_SCHEMA", "Article", "DATE_SOURCES", "DeadLetter", "Draft", "Exchange", "FIELDS",
    "FIELDS_ADDED", "PARTITION_COLUMNS", "PARTITION_FIELDS", "PageFacts", "RawRecord",
    "ReplayPointer", "SCHEMA_VERSION", "Skip", "SkipBatch", "article_schema", "dead_letter",
    "single_skips", "skip_with_raw", "table_schema",
]
