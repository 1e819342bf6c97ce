"""The processing-job runtime in process: inputs, the spec check, results, exit codes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from mimsreg.engine import job as runtime
from mimsreg.engine.inventory.local import LocalInventory
from mimsreg.engine.spec import RegistrationSpec
from mimsreg.pipeline.builder import canonical_spec_bytes
from tests.pipeline.conftest import seed_config
from tests.support.helpers import fake_image, write_model_archive


class Job:
    """The folders of one processing job, and a way to run the runtime over them."""

    def __init__(self, root: Path, spec: RegistrationSpec | None = None) -> None:
        self.root = root
        self.spec_path = root / "input" / "mimsreg_spec" / "spec.json"
        self.spec_path.parent.mkdir(parents=True)
        document = canonical_spec_bytes(spec or seed_config().to_spec())
        self.spec_path.write_bytes(document)
        self.spec_sha256 = hashlib.sha256(document).hexdigest()
        self.model_dir = root / "input" / "model"
        self.payload_dir = root / "mims_payload"
        self.output_dir = root / "output" / "results"
        self.inventory = LocalInventory(root / "inventory.db")

    def argv(self, *regions: str, payload: bool = False) -> list[str]:
        args = ["--spec", str(self.spec_path), "--spec-sha256", self.spec_sha256]
        for region in regions or ("us-east-1",):
            args += ["--region", region]
        args += ["--model-dir", str(self.model_dir), "--output-dir", str(self.output_dir)]
        if payload:
            args += ["--payload-dir", str(self.payload_dir)]
        return args

    def run(self, *regions: str, payload: bool = False, argv: list[str] | None = None) -> int:
        return runtime.main(
            argv if argv is not None else self.argv(*regions, payload=payload),
            inventory=self.inventory,
            image_resolver=fake_image,
        )

    def results(self) -> dict[str, Any]:
        return dict(json.loads((self.output_dir / "results.json").read_text(encoding="utf-8")))


@pytest.fixture
def job(tmp_path: Path) -> Job:
    created = Job(tmp_path / "job")
    write_model_archive(created.model_dir / "model.tar.gz")
    return created


def test_registers_every_region_and_reports_it(
    job: Job, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One JSON line per region on stdout, results.json with the execution id, exit 0."""
    monkeypatch.setenv("MIMSREG_PIPELINE_EXECUTION_ID", "execution-1")
    assert job.run("NA", "eu-west-1") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["region"], r["status"], r["version"]) for r in lines] == [
        ("us-east-1", "created", 1),
        ("eu-west-1", "created", 1),
    ]
    results = job.results()
    assert results["ok"] is True
    assert results["pipeline_execution_id"] == "execution-1"
    assert results["results"] == lines
    record = job.inventory.get_version("eu-west-1", lines[1]["group"], 1)
    assert record.record["registered_by"]["pipeline_execution_id"] == "execution-1"


def test_a_rerun_changes_nothing(job: Job, capsys: pytest.CaptureFixture[str]) -> None:
    """Pipeline retries and re-executions find the version they registered."""
    assert job.run() == 0
    assert job.run() == 0
    statuses = [json.loads(line)["status"] for line in capsys.readouterr().out.splitlines()]
    assert statuses == ["created", "unchanged"]
    assert len(job.inventory.list_versions()) == 1


def test_payload_is_registered_with_the_version(job: Job) -> None:
    """Without a payload one is generated (as `mimsreg register` does); a custom one is part of
    the identity, so it makes a new version."""
    from mimsreg.api import prepare_payload
    from mimsreg.engine.payload import generate_payload_archive

    assert job.run(payload=True) == 0  # the folder does not exist: samples are generated
    job.payload_dir.mkdir()
    assert job.run(payload=True) == 0  # an empty folder: the same generated samples
    generate_payload_archive(seed_config().to_spec(), job.payload_dir / "payload.tar.gz", rows=3)
    assert job.run(payload=True) == 0
    versions = job.inventory.list_versions()
    assert [v.version for v in versions] == [1, 2]
    assert all(v.payload_uri for v in versions)
    generated = prepare_payload(seed_config().to_spec(), None, job.root)
    first = job.inventory.get_version("us-east-1", versions[0].group, 1)
    assert first.record["payload_sha256"] == generated.sha256


def test_payload_folder_of_sample_files_is_packed(job: Job) -> None:
    """A folder of .csv/.json samples is checked and packed like `mimsreg register --payload`."""
    job.payload_dir.mkdir(parents=True)
    (job.payload_dir / "payload_text_csv_0.csv").write_text("5,2,US\n", encoding="utf-8")
    assert job.run(payload=True) == 0
    (version,) = job.inventory.list_versions()
    assert version.payload_uri


def test_payload_must_match_the_input_variables(
    job: Job, capsys: pytest.CaptureFixture[str]
) -> None:
    """A payload whose CSV lacks a column is bad input: exit 2, nothing registered."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"12,3\n"  # account_age, transaction_count; country_code missing
        info = tarfile.TarInfo("payload_text_csv_0.csv")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    job.payload_dir.mkdir(parents=True)
    (job.payload_dir / "payload.tar.gz").write_bytes(buffer.getvalue())
    assert job.run(payload=True) == 2
    assert "payload_text_csv_0.csv" in capsys.readouterr().err
    assert job.inventory.list_versions() == []


def test_archive_found_in_a_subfolder(tmp_path: Path) -> None:
    """S3 prefixes keep their folders: the one archive may sit below the input folder."""
    job = Job(tmp_path / "job")
    write_model_archive(job.model_dir / "run-7" / "output" / "model.tar.gz")
    (job.model_dir / ".hidden.tar.gz").write_bytes(b"ignored")
    assert job.run() == 0


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ([], "expected exactly one archive"),
        (["a/model.tar.gz", "b/model.tar.gz"], "expected exactly one archive"),
    ],
)
def test_model_folder_must_hold_one_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: list[str], message: str
) -> None:
    job = Job(tmp_path / "job")
    job.model_dir.mkdir(parents=True)
    for name in layout:
        write_model_archive(job.model_dir / name)
    assert job.run() == 2
    assert message in capsys.readouterr().err
    assert job.inventory.list_versions() == []


def test_missing_model_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = Job(tmp_path / "job")
    assert job.run() == 2
    assert "does not exist" in capsys.readouterr().err


def test_two_payloads_are_bad_input(job: Job, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("one.tar.gz", "two.tar.gz"):
        write_model_archive(job.payload_dir / name)  # found before their contents are read
    assert job.run(payload=True) == 2
    assert "at most one archive" in capsys.readouterr().err


def test_spec_must_match_the_pipelines_digest(job: Job, capsys: pytest.CaptureFixture[str]) -> None:
    """A spec changed after the definition was rendered is refused, nothing registered."""
    job.spec_path.write_bytes(job.spec_path.read_bytes().replace(b"FraudDetection", b"Other"))
    assert job.run() == 2
    assert "upload_runtime" in capsys.readouterr().err
    assert job.inventory.list_versions() == []


@pytest.mark.parametrize(("content", "message"), [(None, "cannot read"), (b"[1]", "not valid")])
def test_unreadable_or_invalid_spec(
    job: Job, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    if content is None:
        job.spec_path.unlink()
    else:
        job.spec_path.write_bytes(content)
    argv = job.argv()
    del argv[2:4]  # no --spec-sha256
    assert job.run(argv=argv) == 2
    assert message in capsys.readouterr().err


def test_a_failed_region_exits_1_and_the_others_register(
    job: Job, capsys: pytest.CaptureFixture[str]
) -> None:
    """One region's failure is reported (stderr and results.json) without stopping the rest."""

    def image(framework: str, version: str, region: str, instance_type: str) -> str:
        return fake_image(framework, version, region, instance_type)

    class Failing(LocalInventory):
        def ensure_group(self, plan: Any) -> None:
            if plan.region == "eu-west-1":
                raise RuntimeError("throttled")
            super().ensure_group(plan)

    inventory = Failing(job.root / "failing.db")
    code = runtime.main(
        job.argv("us-east-1", "eu-west-1"), inventory=inventory, image_resolver=image
    )
    assert code == 1
    assert "eu-west-1: RuntimeError: throttled" in capsys.readouterr().err
    results = job.results()
    assert results["ok"] is False
    assert [r["status"] for r in results["results"]] == ["created", "failed"]


def test_other_mimsreg_errors_exit_1(job: Job, capsys: pytest.CaptureFixture[str]) -> None:
    from mimsreg.errors import InventoryError

    class Broken(LocalInventory):
        def prepare(self, plan: Any) -> None:
            raise InventoryError("backend down")

    code = runtime.main(job.argv(), inventory=Broken(job.root / "b.db"), image_resolver=fake_image)
    assert code == 1
    assert "backend down" in capsys.readouterr().err


def test_unknown_region_is_bad_input(job: Job, capsys: pytest.CaptureFixture[str]) -> None:
    assert job.run("moon-1") == 2
    assert "moon-1" in capsys.readouterr().err


def test_context_without_passwd_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Containers may run as a uid without a passwd entry: the user is 'unknown'."""
    import getpass

    def no_user() -> str:
        raise KeyError("uid not found")

    monkeypatch.setattr(getpass, "getuser", no_user)
    monkeypatch.delenv("MIMSREG_PIPELINE_EXECUTION_ID", raising=False)
    context = runtime._context()
    assert context.user == "unknown"
    assert context.pipeline_execution_id is None


def test_sagemaker_inventory_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an injected inventory the job registers in SageMaker, in the planned regions."""
    from mimsreg.engine.inventory.sagemaker import SageMakerInventory

    inventory = runtime._default_inventory(["eu-west-1"])
    assert isinstance(inventory, SageMakerInventory)
    assert inventory.default_regions() == ["eu-west-1"]


def test_registers_in_sagemaker_by_default(moto: str, job: Job) -> None:
    """No injected inventory: SageMaker Model Registry and S3 of each region (moto here)."""
    import boto3

    code = runtime.main(job.argv("us-east-1", "eu-west-1"), image_resolver=fake_image)
    assert code == 0
    assert [r["status"] for r in job.results()["results"]] == ["created", "created"]
    for region in ("us-east-1", "eu-west-1"):
        client = boto3.client("sagemaker", region_name=region)
        groups = client.list_model_package_groups()["ModelPackageGroupSummaryList"]
        assert [g["ModelPackageGroupName"] for g in groups] == [
            job.results()["results"][0]["group"]
        ]


def test_same_version_as_mimsreg_register(job: Job) -> None:
    """A model registered with `mimsreg register` is `unchanged` for the pipeline step, and the
    other way round: both paths compute the same identity (payload included)."""
    from mimsreg.api import register

    [first] = register(job.model_dir / "model.tar.gz", seed_config(), inventory=job.inventory)
    assert first.status == "created"
    assert job.run() == 0
    assert job.results()["results"][0]["status"] == "unchanged"
    assert job.results()["results"][0]["version"] == first.version
