"""Backfill throughput on real pages against a one-process script and datatrove, in one run.

    python -m bench.bench_backfill [--docs 920] [--files 8] [--workers 2] [--repeat 1]
                                   [--scale 10000 100000] [--skip-datatrove]

The corpus is real: the Common Crawl HTML responses of ``shared/samples/warc/resiliparse/`` and
the saved pages of ``shared/devset/newspaper4k/html/``, repeated as distinct copies until there
are ``--docs`` pages, written as Common Crawl-style WARC files (``bench/real_corpus.py``; cached
under ``--cache-dir``). On the same pages, in the same run:

* script: one Python process runs ``trafilatura.bare_extraction(html, with_metadata=True,
  include_comments=False)`` and ``langdetect.detect_langs(text[:2000])`` on every page (bodies
  already in memory: no WARC reading);
* backfill: the ``newsflow backfill`` pipeline over the WARC files on the FnApiRunner with
  ``--direct_running_mode=multi_processing --direct_num_workers=N``: reading, extraction
  (time-limited), cleaning, page type, dates, language, topics, dedup, Parquet and commit, in a
  process of its own that starts as the command does (``bench/backfill_run.py``: warm worker
  processes, Beam's import, building the pipeline are timed, as datatrove's start-up is);
* datatrove (when installed: ``pip install -e '.[bench]'``): datatrove's WarcReader ->
  Trafilatura -> ParquetWriter on the same WARC files with N worker processes.

It prints docs/s and CPU ms per document (all processes) for each, the two ratios, and the
backfill's own CPU per document per stage, read from the pipeline's Beam metrics
(``<stage>/cpu_us``: the thread CPU of each step, reader, fingerprinting and Parquet writing;
"other" is everything else: the runner, Beam's shuffles and serialization, worker start-up).
``--scale`` runs the backfill alone at larger sizes (10k, 100k pages: opt-in, minutes to an
hour) and prints the cost per document at each and how linear it is. Nothing is asserted:
the machine and what else runs on it decide the absolute numbers; the ratios of one run, and
CPU per document, are what to compare.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.datatrove_baseline import installed as datatrove_installed
from bench.real_corpus import Corpus, build_corpus, iter_corpus_bodies

REPO = Path(__file__).resolve().parent.parent
INGESTED_AT = "2026-01-01T00:00:00+00:00"
#: Stages with a CPU clock in the pipeline (transforms.stage.StageClock), in data-flow order.
STAGES = ("read", "extract", "clean", "classify", "dates", "language", "build", "topics",
          "dedup", "sinks")


@dataclass
class Run:
    """One measured run: wall seconds, CPU seconds of every process it used, documents."""

    name: str
    seconds: float
    cpu: float
    docs: int
    note: str = ""
    stage_cpu: dict = field(default_factory=dict)  # stage -> CPU seconds (pipeline only)
    process_cpu: dict = field(default_factory=dict)  # kind of process -> CPU seconds

    @property
    def rate(self) -> float:
        return self.docs / self.seconds

    def cpu_ms(self, docs: int | None = None) -> float:
        return 1000 * self.cpu / (docs or self.docs)


def own_cpu_seconds() -> float:
    """CPU time of this process (all its threads)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


#: Kinds of descendant processes, by a word of their command line (a forked process's is its
#: parent's, marked ``FORKED``: the command forks its warm workers).
FORKED = "forked from: "
PROCESS_KINDS = (("newsflow.transforms.extractor", "extraction child"),
                 (FORKED, "Beam SDK worker"),
                 ("sdk_worker_main", "Beam SDK worker"),
                 ("warm_workers attach", "Beam SDK worker"),
                 ("bench.backfill_run", "driver (runner)"))


class ProcessTreeCpu:
    """CPU seconds of every process started below this one while it runs, by kind.

    Children's CPU is not always reported back to us (``RUSAGE_CHILDREN`` only counts
    processes their parents waited for; datatrove's and Beam's helpers are not always waited
    for), so ``/proc`` is polled every ``interval`` seconds and each process's last reading is
    kept. Linux only; elsewhere only this process is counted. The polling thread's own CPU
    (reading ``/proc`` ten times a second: about a second per minute on a busy machine) is
    the measurement's, not the run's: it is left out.
    """

    def __init__(self, interval: float = 0.1):
        import threading

        self._interval, self._stop = interval, threading.Event()
        self._poll_cpu = 0.0
        self._seen: dict[int, tuple[str, float]] = {}
        self._tick = os.sysconf("SC_CLK_TCK")
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self._before = self._snapshot()  # processes already running are not this run's
        self._own = own_cpu_seconds()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.own = own_cpu_seconds() - self._own - self._poll_cpu
        self._remember(self._snapshot())

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        parents, readings = {}, {}
        for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    command = handle.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            pid = int(entry)
            parents[pid] = int(fields[1])
            readings[pid] = (command, (int(fields[11]) + int(fields[12])) / self._tick)
        for pid, (command, seconds) in list(readings.items()):
            parent = readings.get(parents[pid])
            if command and parent is not None and parent[0] == command:
                readings[pid] = (FORKED + command, seconds)
        found, me = {}, os.getpid()
        for pid, reading in readings.items():
            ancestor, hops = parents.get(pid), 0
            while ancestor not in (None, 0, 1, me) and hops < 20:
                ancestor, hops = parents.get(ancestor), hops + 1
            if ancestor == me:
                found[pid] = reading
        return found

    def _poll(self) -> None:
        while not self._stop.wait(self._interval):
            self._remember(self._snapshot())
        self._poll_cpu = time.thread_time()  # this thread's CPU: the measurement's own

    def _remember(self, readings: dict[int, tuple[str, float]]) -> None:
        """Keep each process's latest CPU reading and the first command line seen (a process
        that has exited but is not yet reaped shows an empty one)."""
        for pid, (command, seconds) in readings.items():
            known = self._seen.get(pid)
            self._seen[pid] = ((known[0] if known and known[0] else command), seconds)

    def by_kind(self) -> dict[str, float]:
        kinds = {"this process": self.own}
        for pid, (command, seconds) in self._seen.items():
            before = self._before.get(pid, (command, 0.0))[1]
            kind = next((name for word, name in PROCESS_KINDS if word in command), "other")
            kinds[kind] = kinds.get(kind, 0.0) + seconds - before
        return kinds

    @property
    def total(self) -> float:
        return sum(self.by_kind().values())


def default_shared() -> Path:
    return Path(os.environ.get("NEWSFLOW_SHARED", REPO.parent / "shared"))


# ---------------------------------------------------------------------------------------------
# The one-process script


def run_script(corpus: Corpus) -> Run:
    """trafilatura.bare_extraction(with_metadata=True) + langdetect on every page, one process.

    The bodies are read into memory first (not timed); trafilatura decodes the bytes itself.
    """
    import langdetect
    import trafilatura
    from langdetect import DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    bodies = [body for _, body, _ in iter_corpus_bodies(corpus)]
    trafilatura.bare_extraction(bodies[0], with_metadata=True, include_comments=False)
    langdetect.detect_langs("warm-up: loads the language profiles once, as a script would")
    started, cpu_started = time.perf_counter(), time.process_time()
    extracted = 0
    for body in bodies:
        document = trafilatura.bare_extraction(body, with_metadata=True,
                                               include_comments=False)
        text = document.text if document is not None else ""
        if text:
            extracted += 1
            try:
                langdetect.detect_langs(text[:2000])
            except LangDetectException:
                pass
    return Run("script", time.perf_counter() - started, time.process_time() - cpu_started,
               len(bodies), f"{extracted} with text")


# ---------------------------------------------------------------------------------------------
# The backfill pipeline


def run_backfill(corpus: Corpus, output: Path, workers: int, extra_args: list[str]) -> Run:
    """The backfill pipeline over the corpus, as ``newsflow backfill`` runs it: in a process of
    its own that starts its workers, imports Beam and builds the pipeline (``backfill_run``)."""
    args = ["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
            f"--direct_num_workers={workers}", f"--input={corpus.glob}", f"--output={output}",
            f"--ingested_at={INGESTED_AT}", *extra_args]
    metrics = output.parent / "backfill-metrics.json"
    with ProcessTreeCpu() as cpu:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bench.backfill_run", "--metrics",
                               str(metrics), "--", *args],
                              cwd=REPO, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"backfill failed:\n{done.stderr[-3000:]}")
    measured = json.loads(metrics.read_text())
    from newsflow.pipelines import backfill

    summary = backfill.load_summary(str(output), measured["commit_id"])
    note = (f"{summary['written']} articles + {summary['duplicates']} duplicates, "
            f"{summary['skipped']} skipped, {summary['dead_letters']} dead, "
            f"{'balanced' if summary['balanced'] else 'NOT BALANCED'}")
    return Run("backfill", elapsed, cpu.total, corpus.docs, note, measured["stage_cpu"],
               cpu.by_kind())


# ---------------------------------------------------------------------------------------------
# datatrove


def run_datatrove(corpus: Corpus, output: Path, workers: int, timeout: float) -> Run:
    """datatrove WarcReader -> Trafilatura -> ParquetWriter, in a child process."""
    with ProcessTreeCpu() as cpu:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bench.datatrove_baseline", "--input",
             str(corpus.directory), "--output", str(output), "--workers", str(workers),
             "--timeout", f"{timeout:g}"],
            cwd=REPO, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"datatrove failed:\n{done.stderr[-3000:]}")
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    return Run("datatrove", elapsed, cpu.total, corpus.docs,
               f"{counts['read']} HTML documents read, {counts['written']} written")


# ---------------------------------------------------------------------------------------------
# Report


def run_line(run: Run) -> str:
    return (f"  {run.name:<10} {run.seconds:8.1f} s  {run.rate:7.1f} docs/s  "
            f"CPU {run.cpu_ms():6.1f} ms/doc   {run.note}")


def stage_lines(run: Run) -> list[str]:
    """Per-stage CPU per document of the backfill, and what no stage clock covers."""
    lines = [f"backfill CPU per document by stage ({run.docs} pages; thread CPU of each stage "
             "from its Beam metrics):"]
    attributed = 0.0
    for stage in STAGES + tuple(sorted(set(run.stage_cpu) - set(STAGES))):
        if stage in run.stage_cpu:
            seconds = run.stage_cpu[stage]
            attributed += seconds
            lines.append(f"  {stage:<10} {1000 * seconds / run.docs:7.2f} ms  "
                         f"{100 * seconds / run.cpu:5.1f}%")
    child = run.process_cpu.get("extraction child", 0.0)
    if child:
        attributed += child
        lines.append(f"  {'extract*':<10} {1000 * child / run.docs:7.2f} ms  "
                     f"{100 * child / run.cpu:5.1f}%  (* in the extraction child processes)")
    other = run.cpu - attributed
    lines.append(f"  {'other':<10} {1000 * other / run.docs:7.2f} ms  {100 * other / run.cpu:5.1f}%"
                 "  (Beam: runner, shuffles, serialization, worker start-up)")
    lines.append("  by process: " + ", ".join(
        f"{kind} {1000 * seconds / run.docs:.1f} ms" for kind, seconds in
        sorted(run.process_cpu.items(), key=lambda item: -item[1])))
    return lines


def ratio_lines(runs: list[Run], workers: int) -> list[str]:
    by_name = {run.name: run for run in runs}
    backfill = by_name.get("backfill")
    lines = []
    if backfill and "script" in by_name:
        lines.append(f"ratio backfill / script:    {backfill.rate / by_name['script'].rate:5.2f}x"
                     f"   (target >= 1.6x; the limit is {workers}x on {workers} cores)")
    if backfill and "datatrove" in by_name:
        lines.append(f"ratio backfill / datatrove: "
                     f"{backfill.rate / by_name['datatrove'].rate:5.2f}x   (target >= 1.2x)")
    if backfill:  # what CPU per document allows on an idle machine, whatever the load now
        for name, parallel in (("script", 1), ("datatrove", workers)):
            if name in by_name:
                ceiling = workers / parallel * by_name[name].cpu_ms() / backfill.cpu_ms()
                lines.append(f"  by CPU per document, backfill / {name} is at most "
                             f"{ceiling:.2f}x with every core busy")
    return lines


def scale_lines(runs: list[Run]) -> list[str]:
    lines = ["cost per document by corpus size (backfill alone):"]
    for run in runs:
        lines.append(f"  {run.docs:>7} pages  {run.seconds:8.1f} s  {run.rate:6.1f} docs/s  "
                     f"CPU {run.cpu_ms():6.1f} ms/doc")
    if len(runs) > 1:
        first, last = runs[0], runs[-1]
        change = last.cpu_ms() / first.cpu_ms() - 1
        lines.append(f"  CPU per document at {last.docs} vs {first.docs} pages: {change:+.1%} "
                     f"({'linear' if abs(change) <= 0.15 else 'NOT linear'} within ±15%)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_backfill",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=920,
                        help="Pages in the compared runs (46 real pages, then distinct copies).")
    parser.add_argument("--files", type=int, default=8,
                        help="WARC files to spread them over (1: one crawl-dump file, which "
                             "datatrove reads on one worker and the backfill in spans).")
    parser.add_argument("--workers", type=int, default=2,
                        help="--direct_num_workers of the backfill, datatrove's workers.")
    parser.add_argument("--repeat", type=int, default=1,
                        help="Measure each contender this many times (interleaved) and keep "
                             "each one's fastest run: on a shared machine the fastest is "
                             "the least disturbed.")
    parser.add_argument("--scale", type=int, nargs="*", default=[], metavar="DOCS",
                        help="Also run the backfill alone at these sizes (e.g. 10000 100000) "
                             "and compare the cost per document (opt-in: long).")
    parser.add_argument("--skip-script", action="store_true", dest="skip_script")
    parser.add_argument("--skip-datatrove", action="store_true", dest="skip_datatrove")
    parser.add_argument("--shared", type=Path, default=default_shared(),
                        help="The shared data folder (default: $NEWSFLOW_SHARED or ../shared).")
    parser.add_argument("--cache-dir", type=Path, dest="cache_dir",
                        default=Path(tempfile.gettempdir()) / "newsflow-bench-corpus",
                        help="Where built corpora are kept between runs.")
    parser.add_argument("--seed", type=int, default=0)
    args, extra = parser.parse_known_args(argv)

    logging.getLogger().setLevel(logging.WARNING)
    # SDK workers relay their start-up warnings through the job service: not our business here
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    from newsflow.transforms.extract import DEFAULT_TIMEOUT_S

    started = time.perf_counter()
    corpus = build_corpus(args.shared, args.docs, args.files, args.cache_dir, args.seed)
    print(f"backfill benchmark on real pages: {corpus.docs} pages "
          f"({corpus.html_bytes / corpus.docs / 1024:.0f} KB of HTML per page) in "
          f"{len(corpus.files)} WARC files ({sum(p.stat().st_size for p in corpus.files) / 1e6:.0f}"
          f" MB gzipped), ready in {time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    best: dict[str, Run] = {}
    try:
        for attempt in range(args.repeat):
            contenders = [] if args.skip_script else [lambda: run_script(corpus)]
            contenders.append(lambda: run_backfill(corpus, workdir / "out", args.workers, extra))
            if not args.skip_datatrove:
                if datatrove_installed():
                    contenders.append(lambda: run_datatrove(corpus, workdir / "datatrove",
                                                            args.workers, DEFAULT_TIMEOUT_S))
                elif attempt == 0:
                    print("  (datatrove is not installed: pip install -e '.[bench]')")
            for contender in contenders:
                shutil.rmtree(workdir / "out", ignore_errors=True)
                shutil.rmtree(workdir / "datatrove", ignore_errors=True)
                run = contender()
                if args.repeat > 1:
                    print(f"  run {attempt + 1}: {run_line(run).strip()}")
                if run.name not in best or run.seconds < best[run.name].seconds:
                    best[run.name] = run
        runs = list(best.values())
        print(f"same pages, {args.workers} workers where parallel"
              f"{f', fastest of {args.repeat}' if args.repeat > 1 else ''}:")
        print("\n".join(run_line(run) for run in runs))
        print("\n".join(ratio_lines(runs, args.workers)))
        print("\n".join(stage_lines(best["backfill"])))
        if args.scale:
            # 10k against 100k when both are asked for; else against the compared run
            scaled = [] if len(args.scale) > 1 else [best["backfill"]]
            for size in args.scale:
                big = build_corpus(args.shared, size, max(args.files, size // 250),
                                   args.cache_dir, args.seed)
                shutil.rmtree(workdir / "out", ignore_errors=True)
                scaled.append(run_backfill(big, workdir / "out", args.workers, extra))
                print(run_line(scaled[-1]))
            print("\n".join(scale_lines(scaled)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
