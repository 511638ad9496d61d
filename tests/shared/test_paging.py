"""Query arguments as a client mistypes them."""
from __future__ import annotations

import pytest
from flask import Flask

from shared.paging import Page, int_arg, page_args
from shared.problems import Problem


@pytest.mark.parametrize("query, expected", [("", 100), ("?limit=1", 1), ("?limit=1000", 1000)])
def test_an_argument_in_range_or_absent_is_read(query, expected):
    with Flask(__name__).test_request_context("/" + query):
        assert int_arg("limit", 100, 1, 1000) == expected


@pytest.mark.parametrize("raw", ["0", "1001", "-1", "1.5", "abc", "²", "٣", "9" * 5000, ""])
def test_a_bad_argument_is_a_422_naming_it(raw):
    with Flask(__name__).test_request_context("/", query_string={"limit": raw}):
        with pytest.raises(Problem) as err:
            int_arg("limit", 100, 1, 1000)
    assert err.value.status == 422 and err.value.errors[0].path == "limit"


def test_page_args_give_an_offset():
    with Flask(__name__).test_request_context("/?page=3&size=10"):
        page = page_args()
    assert page == Page(3, 10) and page.offset == 20
    with Flask(__name__).test_request_context("/?size=500"):
        with pytest.raises(Problem) as err:
            page_args(max_size=100)
    assert err.value.errors[0].path == "size"
