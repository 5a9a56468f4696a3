"""Rendering a notification from its template: templates/notifications/<kind>/<channel>.<lang>.txt

Each message records the version of the template it used: the first 12 hex digits of
the SHA-256 of the template's source.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine

TEMPLATE_DIR = Path(settings.BASE_DIR) / "templates" / "notifications"
LANGUAGES = ("vi", "en")
CHANNELS = ("email", "sms", "inapp")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    version: str


@lru_cache(maxsize=512)
def _template(kind: str, channel: str, language: str):
    path = TEMPLATE_DIR / kind / f"{channel}.{language}.txt"
    source = path.read_text(encoding="utf-8")
    engine = Engine.get_default()
    version = hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]
    return engine.from_string(source), version


def kinds() -> list[str]:
    return sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir())


def render(kind: str, channel: str, language: str, context: dict) -> Rendered:
    language = language if language in LANGUAGES else "vi"
    template, version = _template(kind, channel, language)
    text = template.render(Context(context, autoescape=False)).strip()
    subject = ""
    if channel == "email" and text.startswith("Subject:"):
        first, _, text = text.partition("\n")
        subject = first.removeprefix("Subject:").strip()
    elif channel == "inapp":
        subject, _, text = text.partition("\n")
    return Rendered(subject.strip()[:255], text.strip(), version)
