"""`mlflow server` in one Python process.

MLflow's CLI imports MLflow, prepares the store, then starts uvicorn as a second Python process,
which imports MLflow again: two imports of several seconds each. This runs MLflow's own `server`
command (its option checks, store set-up and environment for the app) and replaces only that last
step: uvicorn runs here, in the process that has MLflow imported already.

    python mlflow_server.py [mlflow server options]

It patches a private function, `mlflow.server._exec_cmd` (how `mlflow server` starts uvicorn), as
found in MLflow 3.17.2 (the version in .venv, checked there; scripts/setup-python.sh installs
mlflow>=3.5,<4, whose other versions may differ). When the function is missing or is called with something other than uvicorn,
this exits with a message saying so; TRANSFERKIT_MLFLOW_SERVER=cli then runs `mlflow server` itself.
"""
import sys

import mlflow.server
from mlflow.cli import cli


def _uvicorn_here(cmd, extra_env=None, **_kwargs):
    """In place of `_exec_cmd([python, -m, uvicorn, ...])`: the same uvicorn command, in this process."""
    import os

    if list(cmd[1:3]) != ["-m", "uvicorn"]:
        sys.exit(f"transferkit's mlflow_server.py expected MLflow to start uvicorn, got: {cmd}")
    os.environ.update(extra_env or {})
    import uvicorn.main

    # standalone: exits this process with uvicorn's status when the server stops
    uvicorn.main.main(args=list(cmd[3:]), prog_name="uvicorn")
    sys.exit("uvicorn returned without exiting")


if not callable(getattr(mlflow.server, "_exec_cmd", None)):
    sys.exit(
        f"MLflow {mlflow.__version__} has no mlflow.server._exec_cmd: transferkit's one-process "
        "server launcher does not fit this MLflow version (it was written against MLflow 3.17.2); "
        "set TRANSFERKIT_MLFLOW_SERVER=cli to run `mlflow server` instead"
    )
mlflow.server._exec_cmd = _uvicorn_here
cli(args=["server", *sys.argv[1:]], prog_name="mlflow")
