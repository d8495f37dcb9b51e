#!/usr/bin/env bash
# Thin wrapper: ./deploy/deploy.sh image|template|launch|update|run|all [PIPELINE] [name=value ...]
#               ./deploy/deploy.sh drain|cancel JOB_ID
# Prints the gcloud/newsflow commands; EXECUTE=1 (or --execute) runs them.
# Settings: PROJECT REGION BUCKET IMAGE SERVICE_ACCOUNT MAX_WORKERS MACHINE_TYPE [JOB_NAME]
# (update: JOB_NAME is the running streaming job to replace).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "${PYTHON:-python3}" "$here/commands.py" "$@"
