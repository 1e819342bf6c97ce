"""Pipeline step benchmark: import cost, and the cost of building and rendering a definition.

Run: ``make bench-pipeline`` (or ``.venv/bin/python bench/bench_pipeline.py [--rounds N]``).

Every measurement runs in a fresh interpreter, with no AWS credentials, ``AWS_ENDPOINT_URL`` on a
closed loopback port and every socket connection counted; rounds interleave the variants and the
table shows medians.

- Imports: ``import mimsreg.pipeline`` and ``from mimsreg import ModelRegistrationStepBuilder``
  against the baseline ``import sagemaker`` (and ``python -c pass``, the interpreter itself).
- Definition: the seed configuration, two regions; mimsreg's builder (builder + steps, then
  ``pipeline.definition()``) against the baseline of the same processing step written directly
  with the SDK (``ScriptProcessor.run`` under a ``PipelineSession``, ``ProcessingStep``,
  ``Pipeline``). Both with no SDK defaults file, and with one holding a role and a bucket (the
  seed example's path), where the SDK validates the whole file against its JSON schema at every
  lookup.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._report import update_section  # noqa: E402

PROBE = """
import json, resource, socket, sys, time
attempts = []
for name in ("connect", "connect_ex"):
    original = getattr(socket.socket, name)
    def guard(self, address, _original=original):
        attempts.append(repr(address))
        return _original(self, address)
    setattr(socket.socket, name, guard)
marks = {}
started = time.perf_counter()
exec(sys.argv[1])
marks["total"] = time.perf_counter() - started
print(json.dumps({"marks": marks, "connections": attempts,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CONFIG = {
    "model_owner": "my-team-id",
    "model_registration_objective": "FraudDetection",
    "source_model_inference_output_variable_list": {"fraud_score": "NUMERIC"},
}
ROLE = "arn:aws:iam::111111111111:role/mimsreg-registration"
# SDK v2 and v3 cannot share an environment: `make bench-pipeline` measures v2 (.venv),
# `make bench-pipeline-v3` v3 (.venv-v3), each into its own section of docs/benchmarks.md.
SDK_VERSION = importlib.metadata.version("sagemaker")
SDK_MAJOR = int(SDK_VERSION.split(".", 1)[0])
SDK_IMPORT = "import sagemaker.mlops.workflow.pipeline" if SDK_MAJOR >= 3 else "import sagemaker"

MIMSREG = f"""
import time
t = time.perf_counter()
from mimsreg import ModelRegistrationConfig, ModelRegistrationStepBuilder
from mimsreg.pipeline._adapter import load_adapter
load_adapter()  # the SDK import, as the baseline's imports
marks["import"] = time.perf_counter() - t
t = time.perf_counter()
config = ModelRegistrationConfig(**{CONFIG!r}, role=ROLE_IN_CONFIG, bucket=BUCKET_IN_CONFIG)
builder = ModelRegistrationStepBuilder(config)
steps = builder.create_step("s3://mimsreg-bench-us-east-1/packaged/", regions=["NA", "EU"])
pipeline = builder.pipeline("mimsreg-bench", steps)
marks["build"] = time.perf_counter() - t
t = time.perf_counter()
first = pipeline.definition()
marks["definition"] = time.perf_counter() - t
assert first == pipeline.definition()
"""

SDK = """
import time, warnings
t = time.perf_counter()
import boto3
from sagemaker import image_uris
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.functions import Join
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.steps import ProcessingStep
marks["import"] = time.perf_counter() - t
t = time.perf_counter()
session = PipelineSession(boto_session=boto3.Session(region_name="us-east-1"),
                          default_bucket=BUCKET_IN_CONFIG)
image = image_uris.retrieve("sklearn", "us-east-1", "1.2-1", py_version="py3",
                            instance_type="ml.m5.large")
steps = []
for region in ("us-east-1", "eu-west-1"):
    processor = ScriptProcessor(role=ROLE_IN_CONFIG, image_uri=image, command=["python3"],
                                instance_type="ml.m5.large", instance_count=1,
                                sagemaker_session=session,
                                env={"ID": ExecutionVariables.PIPELINE_EXECUTION_ID})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = processor.run(
            code="s3://b/runtime/mimsreg-runtime.pyz",
            inputs=[ProcessingInput(source="s3://mimsreg-bench-us-east-1/packaged/",
                                    destination="/opt/ml/processing/input/model"),
                    ProcessingInput(source="s3://b/spec.json",
                                    destination="/opt/ml/processing/input/mimsreg_spec")],
            outputs=[ProcessingOutput(source="/opt/ml/processing/output/results",
                                      destination=Join(on="/", values=["s3://b/results",
                                          ExecutionVariables.PIPELINE_EXECUTION_ID, region]))],
            arguments=["--region", region])
    steps.append(ProcessingStep(name=f"Register-{region}", step_args=args))
pipeline = Pipeline(name="sdk-bench", steps=steps, sagemaker_session=session)
marks["build"] = time.perf_counter() - t
t = time.perf_counter()
first = pipeline.definition()
marks["definition"] = time.perf_counter() - t
"""

SDK_V3 = """
import time, warnings
t = time.perf_counter()
import boto3
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from sagemaker.core import image_uris
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (ProcessingInput, ProcessingOutput, ProcessingS3Input,
                                       ProcessingS3Output)
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep
marks["import"] = time.perf_counter() - t
t = time.perf_counter()
session = PipelineSession(boto_session=boto3.Session(region_name="us-east-1"),
                          default_bucket=BUCKET_IN_CONFIG)
image = image_uris.retrieve("sklearn", "us-east-1", "1.2-1", py_version="py3",
                            instance_type="ml.m5.large")
steps = []
for region in ("us-east-1", "eu-west-1"):
    processor = ScriptProcessor(role=ROLE_IN_CONFIG, image_uri=image, command=["python3"],
                                instance_type="ml.m5.large", instance_count=1,
                                sagemaker_session=session,
                                env={"ID": ExecutionVariables.PIPELINE_EXECUTION_ID})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = processor.run(
            code="s3://b/runtime/mimsreg-runtime.pyz",
            inputs=[ProcessingInput(input_name="model", s3_input=ProcessingS3Input(
                        s3_uri="s3://mimsreg-bench-us-east-1/packaged/", s3_data_type="S3Prefix",
                        local_path="/opt/ml/processing/input/model")),
                    ProcessingInput(input_name="spec", s3_input=ProcessingS3Input(
                        s3_uri="s3://b/spec.json", s3_data_type="S3Prefix",
                        local_path="/opt/ml/processing/input/mimsreg_spec"))],
            outputs=[ProcessingOutput(output_name="results", s3_output=ProcessingS3Output(
                        local_path="/opt/ml/processing/output/results", s3_upload_mode="EndOfJob",
                        s3_uri=Join(on="/", values=["s3://b/results",
                                    ExecutionVariables.PIPELINE_EXECUTION_ID, region])))],
            arguments=["--region", region])
    steps.append(ProcessingStep(name=f"Register-{region}", step_args=args))
pipeline = Pipeline(name="sdk-bench", steps=steps, sagemaker_session=session)
marks["build"] = time.perf_counter() - t
t = time.perf_counter()
first = pipeline.definition()
marks["definition"] = time.perf_counter() - t
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when this returns


def environment(root: Path, defaults: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    config = root / ("defaults.yaml" if defaults else "empty.yaml")
    if defaults:
        config.write_text(
            "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n"
            "      TelemetryOptOut: true\n      Session:\n"
            "        DefaultS3Bucket: mimsreg-bench-us-east-1\n  ProcessingJob:\n"
            f"    RoleArn: {ROLE}\n"
        )
    else:  # no defaults, except telemetry off (SDK v3 would send it from ScriptProcessor.run)
        config.write_text(
            "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n"
            "      TelemetryOptOut: true\n"
        )
    env.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
            "AWS_EC2_METADATA_DISABLED": "true",
            # SDK v3 makes clients at import time and fails without a default region; both SDKs
            # and both variants get the same one.
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(root / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "none"),
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
            "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(config),
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
        }
    )
    return env


def run(code: str, env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", PROBE, code], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    sample = dict(json.loads(result.stdout.strip().splitlines()[-1]))
    sample["marks"]["wall"] = wall
    return sample


def scenario(kind: str, defaults: bool) -> str:
    code = MIMSREG if kind == "mimsreg" else (SDK_V3 if SDK_MAJOR >= 3 else SDK)
    role = "None" if defaults and kind == "mimsreg" else repr(ROLE)
    bucket = "None" if defaults else repr("mimsreg-bench-{region}")
    if kind == "sdk":
        bucket = repr("mimsreg-bench-us-east-1")
    return f"ROLE_IN_CONFIG = {role}\nBUCKET_IN_CONFIG = {bucket}\n" + code


def median(samples: list[dict[str, Any]], mark: str) -> float:
    return statistics.median(sample["marks"][mark] for sample in samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    imports = {
        "python -c pass": "pass",
        "import mimsreg.pipeline": "import mimsreg.pipeline",
        "from mimsreg import ModelRegistrationStepBuilder": (
            "from mimsreg import ModelRegistrationStepBuilder"
        ),
        # v3's top-level package is an empty namespace: its workflow API is the import to pay.
        SDK_IMPORT: SDK_IMPORT,
    }
    variants = [(k, d) for d in (False, True) for k in ("mimsreg", "sdk")]
    import_samples: dict[str, list[dict[str, Any]]] = {name: [] for name in imports}
    samples: dict[tuple[str, bool], list[dict[str, Any]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for round_number in range(rounds):
            for name, code in imports.items():
                import_samples[name].append(run(code, environment(root, False)))
            for kind, defaults in variants:
                samples[(kind, defaults)].append(
                    run(scenario(kind, defaults), environment(root, defaults))
                )
            print(f"round {round_number + 1}/{rounds}", file=sys.stderr)
    sagemaker_import = median(import_samples[SDK_IMPORT], "total")
    lines = [
        f"Measured with `make bench-pipeline{'-v3' if SDK_MAJOR >= 3 else ''}` (sagemaker "
        f"{SDK_VERSION}; {rounds} interleaved rounds, medians; "
        f"{os.cpu_count()} cores; Python {platform.python_version()}; fresh interpreter per "
        "sample; no AWS credentials, `AWS_ENDPOINT_URL` on a closed loopback port, every "
        "socket connection counted).",
        "",
        f"| `python -c` | import time | ratio to `{SDK_IMPORT}` | process wall time | peak RSS |",
        "|---|---|---|---|---|",
    ]
    for name, runs in import_samples.items():
        total = median(runs, "total")
        rss = statistics.median(r["rss_mb"] for r in runs)
        lines.append(
            f"| `{name}` | {total:.3f} s | {total / sagemaker_import:.3f} x | "
            f"{median(runs, 'wall'):.3f} s | {rss:.0f} MB |"
        )
    lines += [
        "",
        "Two-region seed pipeline, SDK already imported: build (session, builder, steps,",
        "`Pipeline`), then the first `pipeline.definition()`; the baseline writes the same",
        "processing steps with the SDK directly. Connections: socket connections attempted in",
        "the whole process.",
        "",
        "| SDK defaults file | variant | build | `definition()` | ratio | connections |",
        "|---|---|---|---|---|---|",
    ]
    for defaults in (False, True):
        base = median(samples[("sdk", defaults)], "definition")
        for kind in ("mimsreg", "sdk"):
            runs = samples[(kind, defaults)]
            connections = sum(len(r["connections"]) for r in runs)
            definition = median(runs, "definition")
            label = "role + bucket" if defaults else "none"
            name = "mimsreg builder" if kind == "mimsreg" else "SDK by hand (baseline)"
            lines.append(
                f"| {label} | {name} | {median(runs, 'build'):.3f} s | {definition:.3f} s | "
                f"{definition / base:.2f} x | {connections} |"
            )
    body = "\n".join(lines)
    if SDK_MAJOR >= 3:
        update_section(
            "pipeline-v3", "Pipeline step on SageMaker SDK v3 (`bench/bench_pipeline.py`)", body
        )
    else:
        update_section("pipeline", "Pipeline step (`bench/bench_pipeline.py`)", body)
    print(body)


if __name__ == "__main__":
    main()
