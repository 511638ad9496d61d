"""Server-rendered pages for archivists (placeholder until the pages are built)."""
from __future__ import annotations

from flask import Blueprint, Flask

from shared.config import Settings

pages_bp = Blueprint("pages", __name__)


def install_pages(app: Flask, settings: Settings) -> None:
    pass
