"""``newsflow demo``: both pipelines on local sample data, with no set-up and no network.

1. Backfill: generate a small sample corpus (WARC, JSONL, text dumps, HTML) and backfill it.
2. Stream: start a local feed server on 127.0.0.1 (feeds that change over time, a broken
   feed, a slow one, a 500, a huge page, a wire story carried by several feeds) and run the
   streaming pipeline against it for a bounded time.
"""

from __future__ import annotations

import sys
from pathlib import Path

from newsflow.pipelines import backfill, stream
from newsflow.pipelines.console import output_problem
from newsflow.pipelines.demo.feed_server import DemoFeeds
from newsflow.pipelines.demo.sample_corpus import write_corpus
from newsflow.pipelines.options import CliParser


def run_backfill_demo(root: Path, articles: int) -> int:
    inputs = root / "inputs"
    info = write_corpus(inputs, n_articles=articles, seed=0)
    print(f"== backfill: sample corpus in {inputs} ({len(info.files)} files, "
          f"{info.expected_read} records)")
    return backfill.run([f"--input={','.join(info.input_globs)}", f"--output={root / 'backfill'}",
                         "--max_dead_letter_ratio=0.5"])


def run_stream_demo(root: Path, seconds: float) -> int:
    with DemoFeeds(step_s=6.0, slow_s=8.0) as feeds:
        feed_list = root / "feeds.txt"
        feed_list.write_text(feeds.feed_list())
        print(f"\n== stream: {len(feeds.feed_list().split())} feeds on {feeds.base_url} for "
              f"{seconds:g}s, 10 s windows")
        return stream.run([
            f"--feeds={feed_list}", f"--output={root / 'stream'}", "--allow_loopback",
            f"--duration={seconds}", "--window=10", "--tick=1", "--min_poll_interval=3",
            "--fetch_timeout=4", "--per_host_delay=0.2"])


DESCRIPTION = ("Both pipelines on local sample data, with no set-up and no network: backfill a "
               "generated corpus, then stream from a feed server on 127.0.0.1.")


def command_path(name: str) -> str:
    """How to call ``name`` from this environment in a new shell: the script next to the
    running Python (the venv's ``bin``), relative to the current directory when inside it."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        return name
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def explore_hints(root: Path, streamed: bool) -> str:
    """Commands to look at what the demo wrote; they work in a new shell as printed."""
    newsflow, python = command_path("newsflow"), command_path("python")
    # deltalake's SQL (DataFusion): a process that read through its default pyarrow
    # filesystem aborts at exit one time in two (see catalog.arrow_dataset)
    read = (f"{python} -c \"from deltalake import DeltaTable, QueryBuilder; "
            f"print(QueryBuilder().register('articles', DeltaTable('{{}}/articles')).execute("
            f"'SELECT published_at, language, title FROM articles LIMIT 10').read_all())\"")
    lines = [f"explore: {newsflow} partitions {root / 'backfill'}",
             f"         {read.format(root / 'backfill')}"]
    if streamed:
        lines += [f"         {newsflow} feeds status {root / 'stream'}",
                  f"         {read.format(root / 'stream')}"]
    return "\n".join(lines)


def run(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="newsflow demo", description=DESCRIPTION)
    parser.add_argument("--output", default="demo-output",
                        help="Directory for the sample inputs and both pipelines' output.")
    parser.add_argument("--articles", type=int, default=40,
                        help="How many sample articles the backfill corpus holds.")
    parser.add_argument("--stream_seconds", "--stream-seconds", type=float, default=40.0,
                        dest="stream_seconds",
                        help="How long the streaming demo runs (0 skips it).")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    root = Path(args.output).resolve()
    problem = output_problem(str(root))
    if problem:
        parser.error(problem)
    root.mkdir(parents=True, exist_ok=True)
    code = run_backfill_demo(root, args.articles)
    if code == 130:
        return code
    if args.stream_seconds > 0:
        code = max(code, run_stream_demo(root, args.stream_seconds))
    print("\n" + explore_hints(root, streamed=args.stream_seconds > 0))
    return code
