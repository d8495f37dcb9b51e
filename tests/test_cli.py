"""The `newsflow` command as a user meets it, run as a real process: help, version, mistakes,
paths that do not exist, progress without a terminal, Ctrl-C, and the demo's hints."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsflow.pipelines.console import progress_line
from tests.conftest import REPO

NEWSFLOW = [sys.executable, "-m", "newsflow.pipelines.cli"]
COMMAND_HELP = (["backfill"], ["stream"], ["demo"], ["partitions"], ["compact"],
                ["feeds", "status"])


def newsflow(*args: str, env: dict | None = None, cwd: Path | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*NEWSFLOW, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "NO_GCE_CHECK": "True", **(env or {})},
                          cwd=cwd or REPO)


def test_version():
    from importlib.metadata import version

    done = newsflow("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"newsflow {version('newsflow')}"


@pytest.mark.parametrize("command", COMMAND_HELP, ids=" ".join)
def test_help_shows_defaults_and_no_markup(command):
    done = newsflow(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert "``" not in done.stdout and ":func:" not in done.stdout
    if command[0] in ("backfill", "stream", "compact"):
        assert "(default: " in done.stdout
    if command[0] in ("backfill", "stream"):
        required = done.stdout.split("required:")[1].split("options:")[0]
        assert "--output" in required and ("--input" in required or "--feeds" in required)
        assert re.match(r"usage: newsflow \w+ --\w+ \w+ --output OUTPUT \[options\]", done.stdout)


@pytest.mark.parametrize("command", [["--help"], ["--version"], ["partitions", "--help"]],
                         ids=" ".join)
def test_a_closed_pipe_ends_output_quietly(command):
    """``newsflow --help | head -1`` with head gone before newsflow writes: no traceback."""
    process = subprocess.Popen([*NEWSFLOW, *command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=REPO,
                               env={**os.environ, "NO_GCE_CHECK": "True"})
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) in (0, 1)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_mistakes_get_one_line_that_names_the_fix(tmp_path):
    misspelled = newsflow("backfill", "--input", "x", "--ouput", "y")
    assert misspelled.returncode == 2
    assert "unrecognized argument --ouput (did you mean --output?)" in misspelled.stderr
    wrong_format = newsflow("backfill", "--input", "x", "--output", "y", "--format", "wrac")
    assert wrong_format.returncode == 2
    assert "invalid choice: 'wrac'" in wrong_format.stderr and "'warc'" in wrong_format.stderr
    for done in (misspelled, wrong_format):  # not Beam's whole usage
        assert len(done.stderr.splitlines()) <= 3 and "--runner" not in done.stderr
    missing = newsflow("stream", "--output", "y")
    assert missing.returncode == 2 and "missing required --feeds" in missing.stderr
    assert "did you mean 'partitions'" in newsflow("partiton", "x").stderr


def test_output_that_is_a_file_fails_before_the_job(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"url": "https://example.test/a", "html": "<p>x</p>"}\n')
    output = tmp_path / "out"
    output.write_text("not a directory")
    started = time.monotonic()
    done = newsflow("backfill", "--input", str(tmp_path / "a.jsonl"), "--output", str(output))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: --output {output} is a file; give a directory "
                                   "(it is created if missing)")
    assert time.monotonic() - started < 30  # no pipeline ran


@pytest.mark.parametrize("command", [["partitions"], ["compact"], ["feeds", "status"]],
                         ids=" ".join)
def test_reading_commands_refuse_a_missing_output(command, tmp_path):
    done = newsflow(*command, str(tmp_path / "nope"))
    assert done.returncode == 2
    assert f"{tmp_path / 'nope'} does not exist" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from newsflow.pipelines.demo.sample_corpus import write_corpus

    return write_corpus(tmp_path_factory.mktemp("corpus"), n_articles=60, seed=3)


@pytest.mark.slow
def test_ctrl_c_stops_a_backfill_with_one_line(corpus, tmp_path):
    """SIGINT to the whole process group, as a terminal sends it: exit 130, one line saying
    what was and was not committed, no traceback from any worker, no process left over. The
    progress lines before it come without a terminal too (stderr is a pipe here). The default
    local run has worker processes, started with the command (``warm_workers``)."""
    process = subprocess.Popen(
        [*NEWSFLOW, "backfill", f"--input={','.join(corpus.input_globs)}",
         f"--output={tmp_path / 'out'}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, cwd=REPO,
        env={**os.environ, "NEWSFLOW_PROGRESS_SECONDS": "0.5"})
    lines = []
    try:
        for line in process.stderr:  # the first progress line: the run (and its workers) started
            lines.append(line)
            if line.startswith("progress:"):
                break
        os.killpg(process.pid, signal.SIGINT)
        rest_out, rest_err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    stderr = "".join(lines) + rest_err
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted: ")
    assert re.search(r"progress: [\d.]+/[\d.]+ MB of \d+ files?, \d+ records read, \d+ "
                     r"records/s", stderr)
    deadline = time.monotonic() + 15  # nothing of the run is left (zombies wait for init)
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("processes of the interrupted run are still running")


@pytest.mark.slow
def test_demo_hints_work_in_a_new_shell(tmp_path):
    """The demo's backfill prints sample rows; its 'explore' commands run as printed from a
    shell whose PATH knows nothing of the venv."""
    demo_dir = tmp_path / "demo"
    done = newsflow("demo", "--output", str(demo_dir), "--articles", "8",
                    "--stream_seconds", "0", timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"\d+ of \d+ rows written:\n  \d{4}-\d{2}-\d{2}  en ", done.stdout)
    hints = done.stdout.split("explore: ")[1].strip().splitlines()
    assert hints
    for hint in hints:
        shell = subprocess.run(["/bin/sh", "-c", hint.strip()], capture_output=True, text=True,
                               timeout=120, cwd=REPO, env={"PATH": "/usr/bin:/bin"})
        assert shell.returncode == 0, (hint, shell.stderr)
        assert shell.stdout.strip(), hint


def test_parsed_options_make_each_view_once_and_share_its_values():
    import pickle

    from apache_beam.options.pipeline_options import StandardOptions, TypeOptions

    from newsflow.pipelines.backfill import OPTION_CLASSES, BackfillOptions
    from newsflow.pipelines.options import parse_strict

    options = parse_strict(["--input=a", "--output=b"], OPTION_CLASSES, "newsflow backfill", "")
    view = options.view_as(BackfillOptions)
    assert options.view_as(BackfillOptions) is view  # not parsed again
    assert options.view_as(TypeOptions) is options.view_as(TypeOptions)
    options.view_as(StandardOptions).runner = "DirectRunner"  # views share the values
    assert options.view_as(StandardOptions).runner == "DirectRunner"
    assert options.get_all_options()["runner"] == "DirectRunner"
    copy = pickle.loads(pickle.dumps(options))
    assert "_newsflow_views" not in vars(copy)
    assert copy.view_as(BackfillOptions).input == ["a"]
    assert copy.view_as(StandardOptions).runner == "DirectRunner"


def test_progress_counts_stored_bytes_read():
    """Files differ in size and a large one is read in spans: progress and its ETA go by the
    bytes read."""
    assert progress_line(0, 100_000_000, 1, 0, 0.0) == (
        "progress: 0.0/100.0 MB of 1 file, 0 records read, 0 records/s, ETA unknown for reading")
    assert progress_line(25_000_000, 100_000_000, 8, 500, 10.0) == (
        "progress: 25.0/100.0 MB of 8 files, 500 records read, 50 records/s, ETA 0m30s for "
        "reading")
    assert progress_line(100_000_000, 100_000_000, 8, 2000, 40.0).endswith(
        "all read: deduplicating and committing")
