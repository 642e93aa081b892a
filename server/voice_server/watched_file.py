"""The stamp that tells whether a file re-read on change (speakers, API key) has changed."""

from __future__ import annotations

from pathlib import Path

# (modification time in ns, size, inode) of the file a path leads to.
FileStamp = tuple[int, int, int]


def file_stamp(path: Path) -> FileStamp | None:
    """The stamp of ``path`` with links followed, or None when it cannot be read.

    Kubernetes updates a mounted ConfigMap or Secret by pointing a symlink at a freshly written
    copy: the inode and the modification time change even when the size does not.
    """
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
