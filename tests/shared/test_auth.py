"""API keys: the inline form, the file form with comments, and bad entries."""
from __future__ import annotations

import pytest

from shared.auth import ApiKeys, parse_keys
from shared.problems import Problem


def test_keys_file_allows_comments_and_both_separators(tmp_path):
    path = tmp_path / "api-keys"
    path.write_text("# token=role, one per line\ncase-token=case-system\n\na1=archivist, p1=publisher\n")
    keys = ApiKeys(inline="admin-token=admin", file=path)
    assert keys.authenticate("Bearer case-token", ("case-system",)).role == "case-system"
    assert keys.authenticate("Bearer p1", ("publisher",)).role == "publisher"
    assert keys.authenticate("Bearer admin-token", ("archivist",)).role == "admin"   # admin may do anything


def test_wrong_or_missing_token_is_401_and_wrong_role_403():
    keys = ApiKeys(inline="t1=case-system")
    for header in (None, "", "Bearer", "Bearer nope", "Basic t1"):
        with pytest.raises(Problem) as err:
            keys.authenticate(header, ("case-system",))
        assert err.value.status == 401
    with pytest.raises(Problem) as err:
        keys.authenticate("Bearer t1", ("archivist",))
    assert err.value.status == 403 and "case-system" in err.value.detail


def test_unknown_role_is_a_configuration_error_naming_the_source():
    with pytest.raises(ValueError, match="ZHIFA_API_KEYS"):
        parse_keys("t1=superuser", "ZHIFA_API_KEYS")


def test_a_short_token_is_refused_naming_its_source_and_role_not_the_token(tmp_path):
    with pytest.raises(ValueError) as err:
        ApiKeys(inline="x" * 40 + "=admin,short-secret=case-system", min_length=32)
    assert "ZHIFA_API_KEYS" in str(err.value) and "case-system" in str(err.value) and "32" in str(err.value)
    assert "short-secret" not in str(err.value)
    path = tmp_path / "api-keys"
    path.write_text("tiny=archivist\n")
    with pytest.raises(ValueError, match=str(path)):
        ApiKeys(file=path, min_length=32)


def test_a_short_token_added_to_the_file_later_grants_nothing(tmp_path):
    path = tmp_path / "api-keys"
    long_token = "a" * 32
    path.write_text(f"{long_token}=archivist\n")
    keys = ApiKeys(file=path, min_length=32)
    assert keys.role(f"Bearer {long_token}") == "archivist"
    path.write_text(f"{long_token}=archivist\nguess=admin\n")
    assert keys.role("Bearer guess") is None and keys.role(f"Bearer {long_token}") is None   # fails closed
