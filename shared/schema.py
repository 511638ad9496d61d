"""JSON Schema errors as Chinese field errors with slash paths ("data/party/name").

Every service validates its request bodies against JSON Schema 2020-12 and
reports each bad field in Chinese through `schema_errors`.
"""
from __future__ import annotations

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from shared.problems import FieldError

_TYPE_NAMES = {"string": "文本", "number": "数字", "integer": "整数", "boolean": "布尔值（true/false）",
               "object": "对象", "array": "数组", "null": "空值"}


def _path(prefix: str, parts) -> str:
    return "/".join([prefix, *(str(p) for p in parts)])


def _message(err: ValidationError) -> tuple[list, str]:
    """(extra path parts, Chinese message) for one error."""
    v, value = err.validator, err.validator_value
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else ""
        return [missing], "缺少必填字段。"
    if v == "additionalProperties":
        extras = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return [extras[0]] if len(extras) == 1 else [], f"不允许的字段：{'、'.join(extras)}。"
    if v == "type":
        wanted = value if isinstance(value, list) else [value]
        return [], f"类型应为{'或'.join(_TYPE_NAMES.get(t, t) for t in wanted)}。"
    if v == "enum":
        return [], f"取值应为以下之一：{'、'.join(map(str, value))}。"
    if v == "const":
        return [], f"取值应为 {value}。"
    if v == "format":
        return [], {"date": "日期格式应为 YYYY-MM-DD 且为有效日期。"}.get(value, f"格式应为 {value}。")
    if v == "pattern":
        return [], "格式不正确。"
    if v == "minLength":
        return [], "不能为空。" if value == 1 else f"长度不能少于 {value} 个字符。"
    if v == "maxLength":
        return [], f"长度不能超过 {value} 个字符。"
    if v == "minItems":
        return [], f"至少需要 {value} 项。"
    if v == "maxItems":
        return [], f"最多 {value} 项。"
    if v == "minimum":
        return [], f"不能小于 {value}。"
    if v == "maximum":
        return [], f"不能大于 {value}。"
    if v == "exclusiveMinimum":
        return [], f"须大于 {value}。"
    return [], f"不符合要求（{v}）。"


def schema_errors(validator: Draft202012Validator, data, prefix: str = "data") -> list[FieldError]:
    errors = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        # For oneOf/anyOf, the most specific sub-error names the field better.
        leaf = min(err.context, key=lambda e: len(e.schema_path)) if err.context else err
        extra, message = _message(leaf)
        errors.append(FieldError(_path(prefix, [*leaf.absolute_path, *extra]), message))
    return errors
