"""The image installs pinned, hashed dependencies: every dependency of pyproject.toml is in the lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_with_hashes_and_the_dockerfile_requires_them() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==\S+", lock, re.MULTILINE)}
    wanted = {_name(r) for r in project["dependencies"]}
    assert wanted <= pinned, f"not in requirements.lock: {sorted(wanted - pinned)} (README: Dependencies)"
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 3)[-1])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile  # the package itself adds nothing unpinned
