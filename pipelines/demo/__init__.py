"""``newsflow demo`` and what it runs on: generated sample data, never part of a real run.

* :mod:`.command`: the ``newsflow demo`` entry point (a backfill, then a short stream);
* :mod:`.sample_corpus`: deterministic sample articles, pages and a mixed archive corpus, from
  the per-language templates in ``data/*.json`` (also used by tests and benchmarks);
* :mod:`.feed_server`: a local feed server on 127.0.0.1 whose feeds change over time.

Nothing under ``newsflow.transforms`` imports this package.
"""
