"""The CreateModelPackage request of a region plan (pure, pinned by Stubber tests), with the
instance types the region's client knows."""

from __future__ import annotations

import warnings
from typing import Any

from mimsreg.engine.aws_rules import encode_metadata_value, entity_description, enum_values, within
from mimsreg.engine.errors import RegistryWarning
from mimsreg.engine.inventory.sagemaker._base import META, SageMakerBase
from mimsreg.engine.plan import RegionPlan


class Request(SageMakerBase):
    """``create_request`` and ``_request`` (the same, with the region client's enums)."""

    def _request(
        self,
        plan: RegionPlan,
        model_data_url: str,
        schema_uri: str,
        record_uri: str,
        payload_url: str | None,
    ) -> dict[str, Any]:
        """``create_request`` with the region client's instance-type enums."""
        sagemaker = self._sagemaker(plan.region)
        realtime_types = enum_values(sagemaker, "ProductionVariantInstanceType")
        inference = str(plan.record["inference_instance_type"])
        if realtime_types is not None and inference not in realtime_types:
            warnings.warn(
                f"{plan.region}: inference_instance_type {inference!r} is not a real-time "
                "inference instance type SageMaker knows (ProductionVariantInstanceType); it is "
                "left out of SupportedRealtimeInferenceInstanceTypes",
                RegistryWarning,
                stacklevel=2,
            )
        return self.create_request(
            plan,
            model_data_url,
            schema_uri,
            record_uri,
            payload_url,
            transform_types=enum_values(sagemaker, "TransformInstanceType"),
            realtime_types=realtime_types,
        )

    @staticmethod
    def create_request(
        plan: RegionPlan,
        model_data_url: str,
        schema_uri: str,
        record_uri: str,
        payload_url: str | None = None,
        *,
        transform_types: frozenset[str] | None = None,
        realtime_types: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        """The CreateModelPackage request for a region plan (pure; pinned by Stubber tests).

        ``model_data_url``: the archive's URI, or a model folder's prefix (ending with '/'),
        sent as ``ModelDataSource`` (``S3Prefix``, ``CompressionType: None``).
        ``transform_types``/``realtime_types``: the client's ``TransformInstanceType`` and
        ``ProductionVariantInstanceType`` enums; instance types outside them are left out, as
        SageMaker refuses them (see ``mimsreg.engine.aws_rules``).
        """
        record = plan.record
        inference = str(record["inference_instance_type"])
        realtime = within(
            dict.fromkeys([inference, *record["load_test"]["instance_types"]]), realtime_types
        )
        transform = within([inference], transform_types)
        metadata = {
            META + "identity": plan.identity,
            META + "sha256": plan.sha256,
            META + "metadata-hash": str(record["metadata_hash"]),
            META + "owner": str(record["model_owner"]),
            META + "domain": str(record["model_registration_domain"]),
            META + "objective": str(record["model_registration_objective"]),
            META + "schema": schema_uri,
            META + "record": record_uri,
            META + "content-types": ",".join(record["content_types"]),
            META + "response-types": ",".join(record["response_types"]),
            META + "source-region": str(record["source_model_region"]),
        }
        registered_by = record.get("registered_by") or {}
        execution = registered_by.get("pipeline_execution_id")
        generated_by = registered_by.get("pipeline_execution_arn") or execution
        if execution:
            metadata[META + "pipeline-execution"] = str(execution)
        description = record.get("description") or (
            f"{record['model_registration_objective']} model of {record['model_owner']} "
            f"({record['model_registration_domain']}), registered by mimsreg"
        )
        container: dict[str, Any] = {
            "Image": plan.image_uri,
            "Environment": dict(plan.environment),
            "ModelDataUrl": model_data_url,
            "Framework": str(record["framework"]).upper(),
            "FrameworkVersion": str(record["framework_version"]),
        }
        if plan.is_folder:
            # A model folder, uncompressed: SageMaker copies every object under the prefix into
            # /opt/ml/model (aws_compat sends it where the job's botocore lacks the member).
            del container["ModelDataUrl"]
            container["ModelDataSource"] = {
                "S3DataSource": {
                    "S3Uri": model_data_url,
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            }
        specification: dict[str, Any] = {
            "Containers": [container],
            "SupportedContentTypes": list(record["content_types"]),
            "SupportedResponseMIMETypes": list(record["response_types"]),
        }
        if realtime:
            specification["SupportedRealtimeInferenceInstanceTypes"] = realtime
        if transform:
            specification["SupportedTransformInstanceTypes"] = transform
        # No Tags: SageMaker refuses them on versions (the group carries them).
        request: dict[str, Any] = {
            "ModelPackageGroupName": plan.group,
            "ModelPackageDescription": entity_description(str(description)),
            "InferenceSpecification": specification,
            "ModelApprovalStatus": record["approval_status"],
            "CustomerMetadataProperties": {
                k: encode_metadata_value(v) for k, v in metadata.items()
            },
            # The pipeline execution's ARN when a pipeline step registers it (lineage).
            "MetadataProperties": {"GeneratedBy": str(generated_by or "mimsreg")[:1024]},
            "Domain": "MACHINE_LEARNING",
            "ClientToken": plan.client_token,
        }
        if payload_url:
            request["SamplePayloadUrl"] = payload_url
        if record.get("kms_key_id"):
            request["SecurityConfig"] = {"KmsKeyId": record["kms_key_id"]}
        return request
