"""Names of the user's own images: slugs for URLs, stable across checkouts and machines."""

from __future__ import annotations

import hashlib
from pathlib import Path

from generator.images import slugify


def user_slug(path: Path, name: str, taken: set[str]) -> str:
    """A user image's slug from its file name; a clash gets a suffix hashed from its name relative to
    mkdocs.yml, so two checkouts of one project publish the same URLs."""
    slug = slugify(Path(path).stem) or "image"
    if slug in taken:
        slug = f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
    taken.add(slug)
    return slug
