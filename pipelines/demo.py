"""``newsflow demo``: generate a small sample corpus and backfill it, with no set-up.

Everything runs locally on the FnApiRunner; no network is used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines import backfill
from pipelines.sample_corpus import write_corpus


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsflow demo", allow_abbrev=False,
                                     description="Generate sample archives (WARC, JSONL, text "
                                                 "dumps, HTML) and run the backfill on them.")
    parser.add_argument("--output", default="demo-output",
                        help="Directory for the sample inputs and the pipeline output.")
    parser.add_argument("--articles", type=int, default=40,
                        help="How many sample articles to generate.")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    root = Path(args.output).resolve()
    inputs = root / "inputs"
    info = write_corpus(inputs, n_articles=args.articles, seed=0)
    print(f"sample corpus: {inputs} ({len(info.files)} files, {info.expected_read} records)")
    globs = ",".join(f"{inputs}/{pattern}" for pattern in (
        "warc/*.warc.gz", "jsonl/*.jsonl", "text/*.txt", "html/*.html", "html/*.html.gz"))
    code = backfill.run([f"--input={globs}", f"--output={root / 'out'}",
                         "--max_dead_letter_ratio=0.5"])
    print(f"\nexplore: python -c \"import pyarrow.dataset as ds; "
          f"print(ds.dataset('{root / 'out' / 'articles'}', partitioning='hive')"
          f".to_table().to_pandas()[['dt','lang','title']])\"")
    return code
