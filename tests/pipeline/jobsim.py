"""Run a processing step of a rendered pipeline definition locally, as SageMaker would.

Takes the step's container entrypoint, arguments, environment and inputs from the definition
JSON, downloads every S3 input (from moto) into a folder standing for ``/opt/ml/processing``,
and runs the command with ``python3`` replaced by a given interpreter.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTAINER_ROOT = "/opt/ml/processing"


def execution_arn(execution_id: str) -> str:
    """The ARN SageMaker gives a pipeline execution (test account, us-east-1)."""
    return f"arn:aws:sagemaker:us-east-1:111111111111:pipeline/mimsreg-e2e/execution/{execution_id}"


def resolve(value: Any, parameters: dict[str, Any], execution_id: str) -> Any:
    """Evaluate the definition's expressions this test needs: Get and Std:Join."""
    if isinstance(value, dict) and "Get" in value:
        reference = str(value["Get"])
        if reference == "Execution.PipelineExecutionId":
            return execution_id
        if reference == "Execution.PipelineExecutionArn":
            return execution_arn(execution_id)
        if reference.startswith("Parameters."):
            return parameters[reference.split(".", 1)[1]]
        raise ValueError(f"cannot resolve {reference!r} outside a pipeline execution")
    if isinstance(value, dict) and "Std:Join" in value:
        join = value["Std:Join"]
        return str(join["On"]).join(
            str(resolve(item, parameters, execution_id)) for item in join["Values"]
        )
    return value


@dataclass
class JobRun:
    """What a locally run job did."""

    step: dict[str, Any]
    root: Path
    process: subprocess.CompletedProcess[str]

    def local(self, container_path: str) -> Path:
        return self.root / container_path[len(CONTAINER_ROOT) :].lstrip("/")


def _download_prefix(s3: Any, uri: str, destination: Path) -> int:
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    # Keys keep their path below the prefix's folder, as S3Prefix inputs do.
    if prefix.endswith("/") or not prefix:
        base = prefix
    else:
        base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    count = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            target = destination / item["Key"][len(base) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            count += 1
    return count


def run_step(
    definition: dict[str, Any],
    step_name: str,
    root: Path,
    python: str,
    s3: Any,
    execution_id: str,
    environment: dict[str, str],
) -> JobRun:
    """Run ``step_name`` with ``python`` as python3, inputs downloaded under ``root``."""
    step = next(s for s in definition["Steps"] if s["Name"] == step_name)
    arguments = step["Arguments"]
    parameters = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}

    def local(text: str) -> str:
        if text.startswith(CONTAINER_ROOT):
            return str(root / text[len(CONTAINER_ROOT) :].lstrip("/"))
        return text

    for item in arguments["ProcessingInputs"]:
        s3_input = item["S3Input"]
        uri = str(resolve(s3_input["S3Uri"], parameters, execution_id))
        destination = Path(local(s3_input["LocalPath"]))
        destination.mkdir(parents=True, exist_ok=True)
        if _download_prefix(s3, uri, destination) == 0:
            raise FileNotFoundError(f"input {item['InputName']!r}: nothing under {uri}")
    app = arguments["AppSpecification"]
    command = [local(part) for part in app["ContainerEntrypoint"]]
    assert command[0] == "python3", command
    command[0] = python
    command += [local(str(part)) for part in app.get("ContainerArguments", [])]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)}
    env.update(environment)
    for name, value in arguments.get("Environment", {}).items():
        env[name] = str(resolve(value, parameters, execution_id))
    process = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    return JobRun(step, root, process)
