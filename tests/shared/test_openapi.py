"""The shared OpenAPI pieces make a spec an OpenAPI tool can load."""
from __future__ import annotations

import schemathesis

from shared.openapi import base_spec, operation, path_param, response


def test_a_spec_built_from_the_pieces_loads_with_every_operation():
    spec = base_spec("zhifa archive 电子档案服务", "组卷、封存、核验。")
    spec["components"]["schemas"]["CaseFile"] = {"type": "object"}
    spec["paths"]["/v1/case-files/{id}"] = {"get": operation(
        "getCaseFile", "案卷", {"200": response("案卷", "CaseFile")}, auth=True, parameters=[path_param("id")])}
    spec["paths"]["/v1/case-files"] = {"post": operation(
        "createCaseFile", "建卷", {"201": response("已建卷", "CaseFile")}, auth=True, body_schema_ref="CaseFile")}
    loaded = schemathesis.openapi.from_dict(spec)
    ids = sorted(op.ok().definition.raw["operationId"] for op in loaded.get_all_operations())
    assert ids == ["createCaseFile", "getCaseFile"]
    post = spec["paths"]["/v1/case-files"]["post"]
    assert {"400", "401", "403", "413", "422", "201"} <= set(post["responses"])
    assert post["security"] == [{"bearer": []}]
