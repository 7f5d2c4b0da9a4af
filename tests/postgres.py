"""A throwaway PostgreSQL cluster for tests: initdb in a temporary folder, run as the postgres user when
we are root (PostgreSQL refuses to run as root), listening on a loopback port and a private socket."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: scripts/test installs it (as root), or apt-get install postgresql")
    return found[-1]


def _as_postgres(argv: list[str]) -> list[str]:
    return (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + argv


class Cluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="test-pg-", dir="/tmp"))
        os.chmod(self.dir, 0o777)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        # --no-sync: a throwaway cluster need not wait for its files to reach the disk
        subprocess.run(_as_postgres([_bin("initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                                     "--no-sync"]), check=True, capture_output=True)
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w",
                                     "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                                     "start"]), check=True, capture_output=True)
        self.count = 0

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg2

        self.count += 1
        name = f"t{self.count}"
        admin = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        try:
            admin.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with admin.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {name}")
        finally:
            admin.close()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self):
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
