"""Deploy newsflow pipelines to Google Cloud Dataflow: print (default) or run the commands.

    python deploy/commands.py image                      # build + push the image (Cloud Build)
    python deploy/commands.py template backfill          # write gs://BUCKET/templates/backfill.json
    python deploy/commands.py launch backfill input=gs://b/dumps/*.warc.gz output=gs://b/out
    python deploy/commands.py run backfill input=... output=...   # one-off job, no template
    python deploy/commands.py launch stream feeds=gs://b/feeds.opml output=gs://b/out
    JOB_NAME=newsflow-stream python deploy/commands.py update stream feeds=... output=...
    python deploy/commands.py drain JOB_ID               # or cancel JOB_ID (streaming jobs)
    python deploy/commands.py --execute ...              # or EXECUTE=1: actually run them

Settings come from the environment: PROJECT, REGION, BUCKET, IMAGE, SERVICE_ACCOUNT,
MAX_WORKERS, MACHINE_TYPE (and JOB_NAME for launch/run; update requires it: the name of the
running job). Unset ones print as "$NAME" so the printed commands can be pasted into a shell
that has them set; --execute requires them. The image bakes in which pipeline its launcher
builds (NEWSFLOW_PIPELINE), so each pipeline has its own image (default newsflow-<pipeline>).
Only the standard library is used, so this runs without the project installed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent

# One entry per deployable pipeline (keys of pipelines/flex_launcher.PIPELINES); each has
# deploy/<name>.metadata.json. A streaming pipeline adds {"streaming": True}.
PIPELINES: dict[str, dict] = {
    "backfill": {"streaming": False},
    "stream": {"streaming": True},
}
COMMANDS = ("image", "template", "launch", "update", "run", "all", "drain", "cancel")
JOB_COMMANDS = ("drain", "cancel")  # these take a JOB_ID instead of a pipeline
BOOLEAN_REGEX = "^(true|false)$"  # a metadata parameter with this regex is a boolean flag
VARIABLES = ("PROJECT", "REGION", "BUCKET", "IMAGE", "SERVICE_ACCOUNT", "MAX_WORKERS",
             "MACHINE_TYPE")
DEFAULTS = {
    "REGION": "us-central1",
    "MAX_WORKERS": "10",
    "MACHINE_TYPE": "n2-standard-4",
}


class Settings:
    """Environment settings; a missing one becomes a "$NAME" placeholder (or an error)."""

    def __init__(self, env: dict[str, str], pipeline: str = "backfill"):
        self.env, self.pipeline, self.missing = env, pipeline, []

    def __getitem__(self, name: str) -> str:
        value = self.env.get(name) or DEFAULTS.get(name)
        if value:
            return value
        if name == "IMAGE" and self.env.get("PROJECT"):
            return (f"{self['REGION']}-docker.pkg.dev/{self['PROJECT']}/newsflow/"
                    f"newsflow-{self.pipeline}:latest")
        if name == "SERVICE_ACCOUNT" and self.env.get("PROJECT"):
            return f"newsflow-dataflow@{self['PROJECT']}.iam.gserviceaccount.com"
        if name not in self.missing:
            self.missing.append(name)
        return f"${name}"


def job_name(pipeline: str, env: dict[str, str]) -> str:
    return env.get("JOB_NAME") or f"newsflow-{pipeline}-{time.strftime('%Y%m%d-%H%M%S')}"


def metadata(pipeline: str) -> dict:
    return json.loads((DEPLOY / f"{pipeline}.metadata.json").read_text())


def required_params(pipeline: str) -> list[str]:
    return [p["name"] for p in metadata(pipeline)["parameters"] if not p["isOptional"]]


def boolean_params(pipeline: str) -> set[str]:
    return {p["name"] for p in metadata(pipeline)["parameters"]
            if p["regexes"] == [BOOLEAN_REGEX]}


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: expected name=value, got {pair!r}")
        params[key.strip().lstrip("-")] = value
    return params


def gcloud_parameters(params: dict[str, str]) -> str:
    """--parameters value; values with commas use gcloud's alternate delimiter syntax."""
    if any("," in value for value in params.values()):
        return "^~^" + "~".join(f"{k}={v}" for k, v in params.items())
    return ",".join(f"{k}={v}" for k, v in params.items())


def image_commands(s: Settings, pipeline: str) -> list[list[str]]:
    return [["gcloud", "builds", "submit", f"--project={s['PROJECT']}",
             "--config=deploy/cloudbuild.yaml",
             f"--substitutions=_IMAGE={s['IMAGE']},_PIPELINE={pipeline}", "."]]


def template_commands(s: Settings, pipeline: str) -> list[list[str]]:
    command = ["gcloud", "dataflow", "flex-template", "build",
               f"gs://{s['BUCKET']}/templates/{pipeline}.json",
               f"--project={s['PROJECT']}", f"--image={s['IMAGE']}", "--sdk-language=PYTHON",
               f"--metadata-file=deploy/{pipeline}.metadata.json"]
    if PIPELINES[pipeline]["streaming"]:
        command.append("--enable-streaming-engine")
    return [command]


def launch_commands(s: Settings, pipeline: str, params: dict[str, str], name: str,
                    update: bool = False, renames: list[str] = ()) -> list[list[str]]:
    params = {**params, "sdk_container_image": s["IMAGE"]}
    command = ["gcloud", "dataflow", "flex-template", "run", name,
               f"--template-file-gcs-location=gs://{s['BUCKET']}/templates/{pipeline}.json",
               f"--project={s['PROJECT']}", f"--region={s['REGION']}",
               f"--service-account-email={s['SERVICE_ACCOUNT']}",
               f"--max-workers={s['MAX_WORKERS']}", f"--worker-machine-type={s['MACHINE_TYPE']}",
               f"--temp-location=gs://{s['BUCKET']}/tmp",
               f"--staging-location=gs://{s['BUCKET']}/staging",
               f"--parameters={gcloud_parameters(params)}"]
    if PIPELINES[pipeline]["streaming"]:
        command.append("--enable-streaming-engine")
    if update:
        command.append("--update")
        if renames:
            command.append(f"--transform-name-mappings={','.join(renames)}")
    return [command]


def job_commands(s: Settings, action: str, job_id: str) -> list[list[str]]:
    """drain: finish in-flight work and fire open windows, then stop; cancel: stop now."""
    return [["gcloud", "dataflow", "jobs", action, job_id, f"--project={s['PROJECT']}",
             f"--region={s['REGION']}"]]


def run_commands(s: Settings, pipeline: str, params: dict[str, str],
                 name: str, update: bool = False) -> list[list[str]]:
    """A one-off job straight from this checkout: no template, the image runs the workers."""
    booleans = boolean_params(pipeline)  # the CLI's store_true flags take no value
    flags = [f"--{k}" if k in booleans else f"--{k}={v}" for k, v in params.items()
             if not (k in booleans and v.lower() == "false")]
    command = ["newsflow", pipeline, *flags,
               "--runner=DataflowRunner", f"--project={s['PROJECT']}",
               f"--region={s['REGION']}", f"--job_name={name}",
               f"--temp_location=gs://{s['BUCKET']}/tmp",
               f"--staging_location=gs://{s['BUCKET']}/staging",
               f"--sdk_container_image={s['IMAGE']}",
               f"--service_account_email={s['SERVICE_ACCOUNT']}",
               f"--max_num_workers={s['MAX_WORKERS']}", f"--machine_type={s['MACHINE_TYPE']}"]
    if PIPELINES[pipeline]["streaming"]:
        command += ["--streaming", "--enable_streaming_engine"]
    if update:
        command.append("--update")
    return [command]


def render(command: list[str]) -> str:
    """Shell text; "$NAME" placeholders stay expandable (double quotes), the rest is quoted."""
    return " ".join(f'"{part}"' if re.search(r"\$[A-Z_]+", part) else shlex.quote(part)
                    for part in command)


def main(argv: list[str] | None = None, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    parser = argparse.ArgumentParser(prog="deploy/commands.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--execute", action="store_true",
                        help="run the commands (default: print them); same as EXECUTE=1")
    parser.add_argument("--update", action="store_true",
                        help="launch: replace the running streaming job of the same name "
                             "(same as the update command)")
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                        help="update: a renamed step (gcloud --transform-name-mappings)")
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("target", nargs="?", metavar="PIPELINE|JOB_ID",
                        help=f"a pipeline ({', '.join(sorted(PIPELINES))}; default backfill), "
                             "or for drain/cancel the Dataflow job id")
    parser.add_argument("params", nargs="*", metavar="name=value",
                        help="launch/update/run: pipeline parameters, e.g. input=gs://... "
                             "output=gs://...")
    args = parser.parse_args(argv)
    execute = args.execute or env.get("EXECUTE", "") not in ("", "0", "false", "False")
    if args.command in JOB_COMMANDS:
        if not args.target or args.params:
            parser.error(f"usage: {args.command} JOB_ID (gcloud dataflow jobs list "
                         "--status=active shows the ids)")
        settings = Settings(env)
        commands = job_commands(settings, args.command, args.target)
        return emit(commands, settings, execute)
    pipeline = args.target or "backfill"
    if pipeline not in PIPELINES:
        parser.error(f"unknown pipeline {pipeline!r} (known: {', '.join(sorted(PIPELINES))})")
    update = args.update or args.command == "update"
    if update and not PIPELINES[pipeline]["streaming"]:
        parser.error(f"only a streaming job can be updated; {pipeline} is a batch pipeline")
    settings = Settings(env, pipeline)
    params = parse_params(args.params)
    missing = [name for name in required_params(pipeline) if name not in params]
    if args.command in ("launch", "update", "run") and missing:
        parser.error(f"{args.command} {pipeline} needs " + " ".join(f"{n}=..." for n in missing))
    # An update replaces the running job of the same name: no fresh timestamped name.
    name = settings["JOB_NAME"] if update else job_name(pipeline, env)
    commands = {
        "image": lambda: image_commands(settings, pipeline),
        "template": lambda: template_commands(settings, pipeline),
        "all": lambda: image_commands(settings, pipeline) + template_commands(settings, pipeline),
        "launch": lambda: launch_commands(settings, pipeline, params, name, update, args.rename),
        "update": lambda: launch_commands(settings, pipeline, params, name, True, args.rename),
        "run": lambda: run_commands(settings, pipeline, params, name, update),
    }[args.command]()
    if update and not execute:
        print("# --update maps the running job's steps to the new graph by name; for a renamed "
              "step add --rename OLD=NEW (gcloud --transform-name-mappings=OLD=NEW)",
              file=sys.stderr)
    return emit(commands, settings, execute)


def emit(commands: list[list[str]], settings: Settings, execute: bool) -> int:
    """Print the commands, or run them when every setting they use is set."""
    if execute and settings.missing:
        print(f"error: set {', '.join(settings.missing)} to execute", file=sys.stderr)
        return 2
    for command in commands:
        print(("+ " if execute else "") + render(command), flush=True)
        if execute:
            code = subprocess.call(command, cwd=REPO)
            if code:
                return code
    if not execute:
        print("# printed only; run with --execute (or EXECUTE=1) to execute", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
