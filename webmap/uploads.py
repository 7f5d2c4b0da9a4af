"""Uploads waiting between their preview and their publish.

Each upload has a private folder under UPLOAD_DIR (mode 700, its files 600), named by a token the server
issues (uuid4 hex): the user's file name is only recorded, never used as a path. Each person has at most one
upload waiting per layer (a new one replaces the earlier preview) and UPLOAD_QUOTA_BYTES in all; uploads
never published are dropped after a day.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

#: Tokens are exactly what :meth:`Uploads.put` issues; anything else never reaches the file system.
TOKEN = re.compile(r"[0-9a-f]{32}")
MAX_AGE_S = 24 * 3600


class QuotaExceeded(Exception):
    """The person's waiting uploads would exceed the quota; the message says by how much."""


@dataclass(frozen=True)
class Upload:
    token: str
    path: Path
    meta: dict  # layer, options, name (as the user named the file), user, size


def _size(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MB" if n >= 2 ** 20 else f"{n:,} bytes"


def _private(path: Path):
    """A new file, mode 600 whatever the umask, opened for writing."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


class Uploads:
    def __init__(self, root: Path, quota: int):
        self.root, self.quota = Path(root), quota

    def _meta(self, folder: Path) -> dict | None:
        try:
            return json.loads((folder / "meta.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def pending(self, user: str) -> list[Upload]:
        """The uploads of ``user`` that wait to be published."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            meta = self._meta(folder) if folder.is_dir() else None
            if meta and meta.get("user") == user:
                found.append(Upload(folder.name, next(folder.glob("upload*"), folder / "upload"), meta))
        return found

    def forget_old(self, max_age_s: float = MAX_AGE_S) -> None:
        if not self.root.exists():
            return
        now = time.time()
        for folder in self.root.iterdir():
            if folder.is_dir() and now - folder.stat().st_mtime > max_age_s:
                shutil.rmtree(folder, ignore_errors=True)

    def put(self, save, suffix: str, *, layer: str, user: str, name: str, options: dict) -> Upload:
        """Keep a new upload: ``save(file object)`` writes its bytes. Replaces ``user``'s earlier upload of
        ``layer``; raises :class:`QuotaExceeded` (keeping nothing new) when the user's uploads would be too big."""
        self.forget_old()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        token = uuid.uuid4().hex
        folder = self.root / token
        folder.mkdir(mode=0o700)
        path = folder / f"upload{suffix}"
        with _private(path) as fh:
            save(fh)
        size = path.stat().st_size
        mine = [u for u in self.pending(user) if u.token != token]
        others = sum(u.meta.get("size", 0) for u in mine if u.meta.get("layer") != layer)
        if others + size > self.quota:
            shutil.rmtree(folder, ignore_errors=True)
            raise QuotaExceeded(f"上传配额已满 Your uploads waiting to be published would take {_size(others + size)}, "
                                f"more than your {_size(self.quota)}; publish them first, or wait a day until they "
                                "expire")
        for earlier in mine:
            if earlier.meta.get("layer") == layer:
                self.drop(earlier.token)
        meta = {"layer": layer, "options": options, "name": name, "user": user, "size": size}
        with _private(folder / "meta.json") as fh:
            fh.write(json.dumps(meta).encode())
        return Upload(token, path, meta)

    def get(self, token: str) -> Upload | None:
        """The upload ``token`` names, or None (never issued, published, replaced or expired)."""
        if not TOKEN.fullmatch(token or ""):
            return None
        folder = self.root / token
        meta, path = self._meta(folder), next(folder.glob("upload*"), None) if folder.is_dir() else None
        return Upload(token, path, meta) if meta is not None and path is not None else None

    def set_options(self, token: str, options: dict) -> Upload | None:
        """Record new reading options for a waiting upload (a fix offered on its preview: another encoding,
        CRS, or rows to swap), so that its publish reads it the same way; None when it no longer waits."""
        upload = self.get(token)
        if upload is None:
            return None
        meta = dict(upload.meta, options=options)
        folder = self.root / token
        fresh = folder / "meta.json.new"
        fresh.unlink(missing_ok=True)
        with _private(fresh) as fh:
            fh.write(json.dumps(meta).encode())
        os.replace(fresh, folder / "meta.json")
        return Upload(token, upload.path, meta)

    def drop(self, token: str) -> None:
        if TOKEN.fullmatch(token or ""):
            shutil.rmtree(self.root / token, ignore_errors=True)


def uploads() -> Uploads:
    """The app's uploads (UPLOAD_DIR, by default instance/uploads; UPLOAD_QUOTA_BYTES)."""
    config = current_app.config
    return Uploads(Path(config["UPLOAD_DIR"] or Path(current_app.instance_path) / "uploads"),
                   config["UPLOAD_QUOTA_BYTES"])
