"""Hypothesis: arbitrary configuration mappings only ever yield a config or a typed ConfigError."""

from __future__ import annotations

import warnings
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimsreg import ConfigError, FieldError, ModelRegistrationConfig
from mimsreg.config import PlaceholderWarning
from tests.support.fuzzing import FIELDS, values

configs = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=12)), values, max_size=8
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(configs)
def test_arbitrary_mappings_give_config_or_typed_error(data: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlaceholderWarning)
        outcome: ModelRegistrationConfig | list[FieldError]
        try:
            outcome = ModelRegistrationConfig.from_mapping(data)
        except ConfigError as exc:
            outcome = exc.errors
    if isinstance(outcome, list):
        assert outcome, "a ConfigError must name at least one field"
        assert all(error.field and error.message for error in outcome)
    else:
        assert outcome.source_model_inference_output_variable_list
        assert outcome.get_variable_schema()["output"]["variables"]
