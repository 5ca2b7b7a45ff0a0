"""A user's file kept aside before tsharkpost replaces or removes it (an -o file, a Wireshark file that
`wireshark install --force` replaces or `uninstall` removes): a second name beside it, NAME + BACKUP_INFIX + UTC
time, that no one else holds. The name ends in neither .lua nor .tsv, so Wireshark and the plugin ignore the copy.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

BACKUP_INFIX = ".tsharkpost-backup-"


def backup_path(path: Path) -> Path:
    """A name beside path, not taken yet, for the user's version of it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    candidate = path.with_name(f"{path.name}{BACKUP_INFIX}{stamp}")
    number = 1
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = path.with_name(f"{path.name}{BACKUP_INFIX}{stamp}-{number}")
    return candidate


def keep_aside(path: Path, backup: Path | None = None) -> tuple[Path, bool]:
    """Give the file at path a backup name (backup, or a free one): a hard link, which fails rather than replace a
    file another run gave that name meanwhile (then the next free name is taken); a symbolic link is kept as one.
    Returns the name it got, and whether path is still there (linked: the caller replaces or removes it); False
    where a file system has no hard links and path was renamed instead. OSError when neither can be done."""
    backup = backup or backup_path(path)
    while True:
        try:
            if os.link in os.supports_follow_symlinks:
                os.link(path, backup, follow_symlinks=False)
            else:
                os.link(path, backup)
            return backup, True
        except FileExistsError:
            backup = backup_path(path)
        except OSError:
            if backup.exists() or backup.is_symlink():
                backup = backup_path(path)
                continue
            os.replace(path, backup)
            return backup, False
