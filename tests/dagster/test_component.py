"""``DataLoaderComponent`` loaded from YAML builds the same code location."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster.components.core.component_tree import ComponentTree

from dataloader_sdk.integrations.dagster import DataLoaderComponent
from tests.dagster.conftest import Project

pytestmark = pytest.mark.dagster


# Dagster 1.13's YAML loader calls pydantic's deprecated ``parse_obj_as``.
@pytest.mark.filterwarnings(
    "ignore:`parse_obj_as` is deprecated:pydantic.warnings.PydanticDeprecatedSince20")
def test_component_from_yaml(project: Project) -> None:
    # The ``attributes`` of a defs.yaml.
    component = DataLoaderComponent.resolve_from_yaml(
        f"home: {project.home}\nsensor_interval_seconds: 7\nsensors_running: true\n")
    assert isinstance(component, DataLoaderComponent)
    defs = component.build_defs(ComponentTree.for_test().load_context)
    keys = {s.key for s in defs.resolve_all_asset_specs()}
    assert {dg.AssetKey(["bronze", "orders"]), dg.AssetKey(["bronze", "items"])} <= keys
    master = defs.resolve_sensor_def("dataloader_master_sensor")
    assert master.minimum_interval_seconds == 7
    assert master.default_status == dg.DefaultSensorStatus.RUNNING
