"""Export file storage. Keys are made by the server, never taken from a request."""

import logging
import os
import time
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, BinaryIO, Protocol

logger = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".part"


class ExportStorage(Protocol):
    """A place for export files that every server process can read.

    Any process may write a file and any other serve it, so a deployment of several processes
    needs a backend they all reach, such as a shared volume. Keys are relative paths such as
    `12/34-ab12cd34ef56.csv`.
    """

    def writer(self, key: str) -> AbstractContextManager[IO[str]]:
        """Open a new file for `key` that readers see only once the block completes."""
        ...

    def exists(self, key: str) -> bool:
        """Tell whether the finished file of `key` is there; False for an empty key."""
        ...

    def size(self, key: str) -> int:
        """Return the size of the finished file in bytes; raise FileNotFoundError if it is gone."""
        ...

    def reader(self, key: str) -> AbstractContextManager[BinaryIO]:
        """Open the finished file to read its bytes; raise FileNotFoundError if it is gone."""
        ...

    def delete(self, key: str) -> None:
        """Delete the file of `key` if it is there; do nothing for an empty key."""
        ...

    def remove_stale_partials(self, older_than_seconds: float, keep: Collection[str] = ()) -> int:
        """Delete files left half-written by stopped processes; return how many."""
        ...


class LocalExportStorage:
    """A directory on a local disk or on a volume that all server processes mount.

    `path()` returns the file of a key, for code that works with this backend only.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        # Keys come from the server, but a key that escaped the root would be a bug worth a
        # loud failure rather than a read of another file.
        if not path.is_relative_to(self.root):
            raise ValueError(f"Export storage key {key!r} points outside {self.root}")
        return path

    @contextmanager
    def writer(self, key: str) -> Iterator[IO[str]]:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(f"{final.name}.{os.getpid()}{PARTIAL_SUFFIX}")
        try:
            # Export files hold personal data, so only the server's user may read them.
            partial.touch(mode=0o600)
            with partial.open("w", encoding="utf-8", newline="") as stream:
                yield stream
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return bool(key) and self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def reader(self, key: str) -> AbstractContextManager[BinaryIO]:
        return self.path(key).open("rb")

    def delete(self, key: str) -> None:
        if key:
            self.path(key).unlink(missing_ok=True)

    def remove_stale_partials(self, older_than_seconds: float, keep: Collection[str] = ()) -> int:
        """Delete partial files left by a process that died while writing them.

        `keep` lists the keys of jobs still running: their partial files stay, however long
        their last write was ago.
        """
        if not self.root.exists():
            return 0
        cutoff = time.time() - older_than_seconds
        kept = {self.path(key) for key in keep}
        removed = 0
        for partial in self.root.rglob(f"*{PARTIAL_SUFFIX}"):
            # A partial file is named "<final name>.<pid>.part".
            if partial.with_name(partial.name.rsplit(".", 2)[0]) in kept:
                continue
            try:
                if partial.stat().st_mtime < cutoff:
                    partial.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        if removed:
            logger.info("Removed %s partial export files left by stopped processes", removed)
        return removed
