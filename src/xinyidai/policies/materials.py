"""Application materials: the documents an enterprise uploads with a policy application.

Each required material of the policy must be uploaded, one file each, of an accepted type — PDF, JPG,
PNG, OFD (the national e-document format), Word (.docx) or Excel (.xlsx) — and at most
``MAX_MATERIAL_BYTES``. The type is checked twice: by the file name's extension and by the first bytes of
its content, so a renamed executable is refused. Files are kept under ``XYD_HOME/policies/<application
id>/`` under names the platform makes (never the uploaded name), with their SHA-256.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from xinyidai.core.errors import ValidationFailed

MAX_MATERIAL_BYTES = 5 * 1024 * 1024
MATERIALS_DIR = "policies"

# extension -> (content type, the content's first bytes)
ACCEPTED: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".ofd": ("application/ofd", (b"PK\x03\x04",)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
}


@dataclass(frozen=True)
class MaterialUpload:
    """One uploaded file for the required material ``material`` (its name as the policy lists it)."""

    material: str
    filename: str
    content: bytes


@dataclass(frozen=True)
class CheckedMaterial:
    """An upload that passed the checks, with its content type and SHA-256."""

    upload: MaterialUpload
    content_type: str
    sha256: str
    extension: str


def check_materials(required: Sequence[str], uploads: Sequence[MaterialUpload]) -> list[CheckedMaterial]:
    """Every required material present once, of an accepted type and size; else the first problem.

    The error's field is ``material_<n>``, the n-th required material (0-based), as the apply form names
    its file inputs.
    """
    by_material = {u.material: u for u in uploads if u.filename or u.content}
    checked = []
    for index, material in enumerate(required):
        field = f"material_{index}"
        upload = by_material.get(material)
        if upload is None:
            raise ValidationFailed(
                "The required material %(material)s is missing", field=field, material=material
            )
        checked.append(check_file(upload, field))
    return checked


def check_file(upload: MaterialUpload, field: str) -> CheckedMaterial:
    """One file's type (extension and content) and size."""
    name = PurePath(upload.filename.replace("\\", "/")).name or "?"
    extension = PurePath(name).suffix.lower()
    accepted = ACCEPTED.get(extension)
    if accepted is None:
        raise ValidationFailed(
            "%(file)s is not an accepted type: upload PDF, JPG, PNG, OFD, Word (.docx) or Excel (.xlsx)",
            field=field,
            file=name,
        )
    if not upload.content:
        raise ValidationFailed("%(file)s is empty", field=field, file=name)
    if len(upload.content) > MAX_MATERIAL_BYTES:
        raise ValidationFailed(
            "%(file)s is larger than %(mb)s MB", field=field, file=name, mb=MAX_MATERIAL_BYTES // 2**20
        )
    content_type, signatures = accepted
    if not upload.content.startswith(signatures):
        raise ValidationFailed(
            "%(file)s is not really a %(ext)s file", field=field, file=name, ext=extension.lstrip(".")
        )
    digest = hashlib.sha256(upload.content).hexdigest()
    return CheckedMaterial(
        MaterialUpload(upload.material, name, upload.content), content_type, digest, extension
    )


def store(home: Path, application_id: int, index: int, material: CheckedMaterial) -> str:
    """Write the file (atomically) and return its path relative to ``home``."""
    folder = home / MATERIALS_DIR / str(application_id)
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{MATERIALS_DIR}/{application_id}/{index}-{material.sha256[:16]}{material.extension}"
    target = home / relative
    temporary = target.with_suffix(target.suffix + ".part")
    with open(temporary, "wb") as handle:
        handle.write(material.upload.content)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(target)
    return relative


def read(home: Path, relative: str) -> bytes:
    """A stored file's bytes (the path must stay inside ``home``)."""
    root = (home / MATERIALS_DIR).resolve()
    path = (home / relative).resolve()
    if root not in path.parents:
        raise ValueError("material path outside the materials folder")
    return path.read_bytes()
