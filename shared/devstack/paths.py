"""Folders of the repository that the local stack reads from and writes to."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Downloads and run folders, ignored by git: Kafka jars, Maven repository, `make run`.
CACHE_DIR = REPO_ROOT / ".cache"
