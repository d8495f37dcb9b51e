import json
import os
import subprocess
import sys

import pytest

from newsflow.pipelines import warm_workers
from newsflow.pipelines.warm_workers import SLOTS_ENV, workers_wanted


@pytest.mark.parametrize(("argv", "expected"), [
    (["--input=x", "--direct_running_mode=multi_processing", "--direct_num_workers=2"], 2),
    (["--direct_running_mode", "multi_processing", "--direct_num_workers", "3"], 3),
    (["--direct_running_mode=multi_processing"], 1),  # Beam's default: one worker
    (["--direct_running_mode=multi_processing", "--runner=FnApiRunner"], 1),
    (["--direct_running_mode=multi_threading", "--direct_num_workers=2"], 0),
    (["--input=x", "--runner=DirectRunner"], 0),  # Beam's default mode: in one process
    (["--input=x", "--direct_running_mode=in_memory"], 0),
    (["--direct_running_mode=multi_processing", "--runner=DataflowRunner"], 0),
    (["--direct_running_mode=multi_processing", "--dry_run"], 0),
    (["--direct_running_mode=multi_processing", "--help"], 0),
    (["--direct_running_mode=multi_processing", "--direct_num_workers=two"], 0),
])
def test_workers_wanted_reads_the_command_line(argv, expected):
    assert workers_wanted(argv) == expected


def test_zero_workers_and_the_commands_default_mean_one_per_cpu():
    argv = ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]
    assert workers_wanted(argv) == os.cpu_count()
    assert workers_wanted(["--input=x", "--output=y"]) == os.cpu_count()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from newsflow.pipelines.demo.sample_corpus import write_corpus

    return write_corpus(tmp_path_factory.mktemp("corpus"), n_articles=20, seed=5)


def _in_a_new_process(code: str) -> str:
    """Run ``code`` in a new Python, as the command runs: a process with one thread (this
    test process may run others, with which :func:`warm_workers.start` refuses to fork)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_a_backfill_runs_on_the_warm_workers(corpus, tmp_path):
    """Both worker processes the runner asks for attach to the slots forked beforehand, the
    run balances, and closing leaves no slot process or directory behind."""
    output = tmp_path / "out"
    printed = _in_a_new_process(f"""
import json, os
from newsflow.pipelines import backfill, warm_workers
warm = warm_workers.start(2)
try:
    status = backfill.run({[f"--input={','.join(corpus.input_globs)}", f"--output={output}",
                            "--direct_running_mode=multi_processing",
                            "--direct_num_workers=2"]!r}, warm)
    claimed = sorted(name for name in os.listdir(warm.directory) if name.endswith(".claim"))
finally:
    warm.close()
print(json.dumps({{"status": status, "claimed": claimed, "left": os.path.exists(warm.directory),
                  "pids": warm.pids}}))
""")
    outcome = json.loads(printed.splitlines()[-1])
    assert outcome == {"status": 0, "claimed": ["slot-0.claim", "slot-1.claim"],
                       "left": False, "pids": []}
    from newsflow.pipelines import backfill

    summary = backfill.load_summary(str(output), _commit_id(output))
    assert summary["balanced"] and summary["written"] > 0


def _commit_id(output) -> str:
    (name,) = os.listdir(output / "runs")
    return name.removesuffix(".json")


def test_attach_without_a_free_slot_becomes_beams_own_worker(tmp_path):
    """No warm worker to take: the process the runner started runs Beam's worker itself (here
    without a runner to talk to, so Beam's worker fails as it would: its own error)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("CONTROL_API_SERVICE_DESCRIPTOR", "PIPELINE_OPTIONS")}
    done = subprocess.run([sys.executable, "-m", "newsflow.pipelines.warm_workers", "attach"],
                          env={**env, SLOTS_ENV: str(tmp_path)}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "apache_beam/runners/worker/sdk_worker_main.py" in done.stderr
    assert done.stderr.strip().endswith("KeyError: 'CONTROL_API_SERVICE_DESCRIPTOR'")


def test_close_ends_and_reaps_workers_no_job_claimed():
    printed = _in_a_new_process("""
import json, os
from newsflow.pipelines import warm_workers
warm = warm_workers.start(1)
(pid,) = warm.pids
listening = os.path.exists(os.path.join(warm.directory, "slot-0.sock"))
with open(f"/proc/{pid}/cmdline", "rb") as worker, open("/proc/self/cmdline", "rb") as me:
    forked = worker.read() == me.read()
warm.close()
try:
    os.waitpid(pid, os.WNOHANG)
    reaped = False
except ChildProcessError:
    reaped = True
print(json.dumps([listening, forked, reaped, os.path.exists(warm.directory)]))
""")
    # listening from the start (a job could attach now), forked from the command, ended and
    # reaped by close (no zombie), its slots removed
    assert json.loads(printed.splitlines()[-1]) == [True, True, True, False]


def test_no_worker_is_forked_beside_a_native_runtime(tmp_path):
    """deltalake's tokio runtime panics in a forked copy of the process that started it."""
    printed = _in_a_new_process(f"""
import deltalake, pyarrow
from newsflow.pipelines import backfill, warm_workers
assert warm_workers.can_fork_workers()  # Beam, numpy and pyarrow imported: still one
deltalake.write_deltalake({str(tmp_path)!r}, pyarrow.table({{"a": [1]}}))
print(warm_workers.start(1), warm_workers.can_fork_workers())
""")
    assert printed.split() == ["None", "False"]


def test_no_worker_is_forked_beside_a_running_thread():
    """A fork copies only the calling thread: with another thread running (a library's, a
    server's), the runner starts Beam's own workers instead."""
    printed = _in_a_new_process("""
import threading
from newsflow.pipelines import warm_workers
assert warm_workers.can_fork_workers()
stop = threading.Event()
thread = threading.Thread(target=stop.wait)
thread.start()
print(warm_workers.start(1), warm_workers.can_fork_workers())
stop.set()
""")
    assert printed.split() == ["None", "False"]


def test_no_workers_asked_none_started():
    assert warm_workers.start(0) is None


def test_a_worker_gone_before_it_took_the_settings_is_skipped(tmp_path):
    """A slot whose worker accepted the connection but died before answering: attach goes on
    to the next slot (here none: Beam's own worker, which fails without a runner)."""
    import socket
    import threading

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "slot-0.sock"))
    listener.listen(1)

    def accept_and_die():
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.close()

    thread = threading.Thread(target=accept_and_die)
    thread.start()
    env = {key: value for key, value in os.environ.items()
           if key not in ("CONTROL_API_SERVICE_DESCRIPTOR", "PIPELINE_OPTIONS")}
    done = subprocess.run([sys.executable, "-m", "newsflow.pipelines.warm_workers", "attach"],
                          env={**env, SLOTS_ENV: str(tmp_path)}, capture_output=True,
                          text=True, timeout=60)
    thread.join(10)
    listener.close()
    assert (tmp_path / "slot-0.claim").exists()  # it claimed the slot and talked to it
    assert done.stderr.strip().endswith("KeyError: 'CONTROL_API_SERVICE_DESCRIPTOR'")
