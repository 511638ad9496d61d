"""A clerk edits the Word templates (ZHIFA_TEMPLATES_DIR): sound edits are
used, a broken placeholder is caught before any document is generated."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from services.generator.catalogue import TEMPLATES_DIR

ROOT = Path(__file__).resolve().parents[2]


def edit_template(directory: Path, doc_type: str, old: str, new: str) -> None:
    """What saving in Word does, reduced to the change: rewrite word/document.xml."""
    path = directory / f"{doc_type}.docx"
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["word/document.xml"].decode()
    assert old in xml
    parts["word/document.xml"] = xml.replace(old, new, 1).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


@pytest.fixture
def clerk_templates(tmp_path) -> Path:
    directory = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return directory


def check_templates(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", "check-templates", str(directory)],
                          cwd=ROOT, capture_output=True, text=True)


def test_a_sound_edit_is_used_for_the_next_document(zhifa_env, clerk_templates, tmp_path):
    from services.generator.app import create_app
    from tests.generator.test_api import docx_text, example, post
    edit_template(clerk_templates, "rectification_order", "逾期不改正的，本机关将依法处理。",
                  "逾期不改正的，本机关将依法予以行政处罚。")
    assert check_templates(clerk_templates).returncode == 0
    app = create_app(zhifa_env(ZHIFA_TEMPLATES_DIR=clerk_templates,
                               ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}"))
    client = app.test_client()
    try:
        doc = post(client, {"type": "rectification_order", "formats": ["docx"],
                            "data": example("rectification_order")}).get_json()
        assert "本机关将依法予以行政处罚。" in docx_text(client, doc["id"])
    finally:
        app.extensions["zhifa.runtime"].close()


def test_a_broken_placeholder_is_named_and_stops_the_start(zhifa_env, clerk_templates, tmp_path):
    from services.generator.app import create_app
    edit_template(clerk_templates, "penalty_decision", "{{ party.name }}", "{{ party.nmae }}")
    result = check_templates(clerk_templates)
    assert result.returncode == 1
    assert "penalty_decision" in result.stdout and "party.nmae" in result.stdout
    assert "未在 JSON Schema 中声明" in result.stdout
    with pytest.raises(ValueError, match="party.nmae"):
        create_app(zhifa_env(ZHIFA_TEMPLATES_DIR=clerk_templates,
                             ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}"))


def test_a_deleted_required_field_is_named(clerk_templates):
    schema = json.loads((clerk_templates / "service_receipt.schema.json").read_text(encoding="utf-8"))
    assert "party" in schema["required"]
    edit_template(clerk_templates, "service_receipt", "{{ party.name }}", "（受送达人）")
    result = check_templates(clerk_templates)
    assert result.returncode == 1 and "party.name" in result.stdout and "未在模板中出现" in result.stdout


def test_a_misspelt_filter_is_named(clerk_templates):
    """A clerk's typo in a filter name would fail every document of the type."""
    edit_template(clerk_templates, "penalty_decision", "amount_cn", "amount_cm")
    result = check_templates(clerk_templates)
    assert result.returncode == 1
    assert "penalty_decision" in result.stdout and "amount_cm" in result.stdout


def test_templates_without_the_shared_vocabulary_are_refused(clerk_templates):
    from services.generator.catalogue import Catalogue
    (clerk_templates / "vocabulary.schema.json").unlink()
    with pytest.raises(ValueError, match="vocabulary.schema.json"):
        Catalogue(clerk_templates)
