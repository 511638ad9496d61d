"""The search app under test: SQLite and PostgreSQL for the records, the
embedded Tantivy index (the Elasticsearch backend has its own fixtures in
test_backends.py)."""
from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest

from tests.conftest import auth, free_port

TODAY = date.today()
DECIDED = (TODAY - timedelta(days=10)).isoformat()

PENALTY = {
    "number": "鞍审批罚决字〔2026〕第1号", "kind": "penalty", "title": "行政处罚决定书",
    "agency": "鞍山市营商环境建设局",
    "party": {"kind": "organization", "name": "鞍山示例商贸有限公司", "credit_code": "91210303MA0U7F2N4K",
              "legal_representative": "李华", "address": "辽宁省鞍山市铁西区人民路示例号", "phone": "13904120000"},
    "decided_on": DECIDED,
    "summary": "当事人未在法定期限内申请住所变更登记，经责令改正后逾期仍未改正。证人王小明证明当事人已搬迁，"
               "其联系电话13812345678。",
    "legal_basis": ["《中华人民共和国市场主体登记管理条例》第四十六条"],
    "content": "罚款人民币贰万元整。",
    "text": "当事人：鞍山示例商贸有限公司\n法定代表人（负责人）：李华\n经查明：当事人于2026年6月迁址，未办理住所变更登记。",
    "penalties": [{"kind": "罚款", "amount_yuan": 20000}],
    "violation_type": "未依法办理变更登记",
}

LICENSE = {
    "number": "鞍审批许准字〔2026〕第1号", "kind": "license", "title": "准予行政许可决定书",
    "agency": "鞍山市行政审批局",
    "party": {"kind": "organization", "name": "鞍山市铁东区示例餐饮有限公司", "credit_code": "91210302MA10Q8KX3B",
              "legal_representative": "王明"},
    "decided_on": DECIDED,
    "content": "准予从事餐饮服务经营活动，经营项目：热食类食品制售。",
    "text": "你单位提出的食品经营许可（餐饮服务）申请，符合法定条件、标准，本机关决定准予行政许可。",
    "legal_basis": ["《中华人民共和国食品安全法》第三十五条第一款"],
    "license": {"category": "普通", "certificate_name": "食品经营许可证", "number": "JY22103020012345",
                "valid_from": DECIDED, "valid_to": (TODAY + timedelta(days=5 * 365)).isoformat()},
}

PERSON_PENALTY = {
    "number": "鞍审批罚决字〔2026〕第2号", "kind": "penalty", "title": "行政处罚决定书",
    "agency": "鞍山市营商环境建设局",
    "party": {"kind": "person", "name": "张伟", "id_type": "居民身份证", "id_number": "210302198001011233",
              "address": "辽宁省鞍山市铁东区胜利路12号3单元401室", "phone": "13904120000"},
    "decided_on": DECIDED,
    "summary": "当事人张伟（身份证号码210302198001011233，住址：辽宁省鞍山市铁东区胜利路12号3单元401室，"
               "手机13904120000）无证销售散装白酒。店员刘洋称货物由辽C12345号货车运来，货款汇入账号"
               "6222021234567890128，联系邮箱zhangwei@example.com。",
    "content": "没收违法所得人民币三千元，并处罚款人民币五千元。",
    "text": "",
    "penalties": [{"kind": "没收违法所得", "amount_yuan": 3000}, {"kind": "罚款", "amount_yuan": 5000}],
}


def decision(base: dict, **changes) -> dict:
    body = copy.deepcopy(base)
    body.update(changes)
    return body


def publish(client, body, role="publisher"):
    """Publish, then wait until the index has it (searchable within a second: test_nrt.py)."""
    resp = client.post("/v1/decisions", data=json.dumps(body, ensure_ascii=False),
                       headers={**auth(role), "Content-Type": "application/json"})
    if resp.status_code in (200, 201):
        client.application.extensions["zhifa.runtime"].index.refresh()
    return resp


@pytest.fixture
def search_app(zhifa_env, database_url):
    """The search app on SQLite and on PostgreSQL; yields (app, client)."""
    from services.search.app import create_app
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=database_url))
    yield app, app.test_client()
    app.extensions["zhifa.runtime"].close()


@pytest.fixture
def sqlite_search(zhifa_env, tmp_path):
    """Same as `search_app`, SQLite only: for behaviour, not storage."""
    from services.search.app import create_app
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}"))
    yield app, app.test_client()
    app.extensions["zhifa.runtime"].close()


class LiveServer:
    """An app served over real HTTP on a free port, in a thread (werkzeug)."""

    def __init__(self, app, port: int = 0):
        import threading

        from werkzeug.serving import make_server
        self.app = app
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.app.extensions["zhifa.runtime"].close()



@pytest.fixture
def live(zhifa_env, tmp_path):
    """A real generator and the search service, each on its own port, talking
    over HTTP: the search service fetches documents from the generator and
    asks it to verify; the generator prints the search service's /verify."""
    from services.generator.app import create_app as create_generator
    from services.search.app import create_app as create_search
    from tests.conftest import TOKENS
    search_port = free_port()
    search_url = f"http://127.0.0.1:{search_port}"
    generator = LiveServer(create_generator(zhifa_env(
        ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}", ZHIFA_SEARCH_URL=search_url,
        ZHIFA_PUBLIC_VERIFY_URL=f"{search_url}/verify")))
    settings = zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}",
                         ZHIFA_GENERATOR_URL=generator.url, ZHIFA_GENERATOR_TOKEN=TOKENS["publisher"],
                         ZHIFA_SEARCH_URL=search_url)
    search = LiveServer(create_search(settings), search_port)
    yield generator, search
    search.stop()
    generator.stop()
