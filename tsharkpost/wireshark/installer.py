"""Install, update and remove the plugin and the profile: plans first, then (unless a dry run) the changes.

Each of the two folders tsharkpost owns (the plugin's subfolder of the personal
Lua plugins folder, the profile's folder) holds a manifest with the SHA-256 of
every file tsharkpost wrote there and the parent folders it had to create. A file
whose content is neither what tsharkpost ships now nor what it wrote last time
was changed by the user: it is kept unless --force, on install and uninstall alike,
and --force moves it aside to NAME.tsharkpost-backup-<time> instead of losing it.

A manifest is a file anyone could have planted (a profile can be imported from a
zip), so it never names what to touch: file names come from the package, every
path must stay inside the component's folder once symbolic links are followed,
and "created" folders must be parents of it. Anything else is ignored, with a
warning. Uninstall removes only files install wrote and recorded.

Some files are Wireshark's own, which it rewrites as it runs (the profile's `recent`:
column widths, window size). tsharkpost seeds such a file only when it is absent
(or still exactly as tsharkpost wrote it); once Wireshark or the user rewrote it, it is
theirs: never overwritten, even with --force, never reported as changed, and dropped
from the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from tsharkpost import __version__
from tsharkpost.backups import backup_path, keep_aside
from tsharkpost.plugin.location import PLUGIN_FILE, lua_dir, tables_dir
from tsharkpost.wireshark import profile
from tsharkpost.wireshark.folders import Folders

MANIFEST = ".tsharkpost-manifest.json"
PLUGIN_FOLDER = "tsharkpost"  # Wireshark loads *.lua from subfolders too; tables/ and tpost/ sit beside the script
# Files Wireshark itself writes into a profile folder it has used (window layout, recent
# filters): they mean nothing once the profile is gone, so uninstall takes them along.
WIRESHARK_STATE_FILES = frozenset({"recent"})
# Files earlier versions of tsharkpost installed and this one does not, by component kind: install removes them
# when they are still as written. Like every name install touches, they come from here, never from a manifest.
RETIRED_FILES: dict[str, frozenset[str]] = {"plugin": frozenset(), "profile": frozenset()}
MANIFEST_MAX_BYTES = 1 << 20  # a real one is a few kB; a bigger one is not ours
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class FileState(str, Enum):
    MISSING = "missing"
    CURRENT = "current"      # what this tsharkpost ships
    OUTDATED = "outdated"    # what an earlier install wrote, unchanged since: safe to update
    CHANGED = "changed"      # changed by someone else: kept unless --force
    IN_USE = "in use"        # a seed Wireshark (or the user) rewrote since: theirs, never touched


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    OVERWRITE = "overwrite"  # a changed file, with --force: the changed one is moved aside first
    KEEP = "keep"            # a changed file without --force, or one tsharkpost must not touch
    REMOVE = "remove"
    BACK_UP = "back up"      # uninstall --force: a changed file is moved aside, not removed


@dataclass(frozen=True)
class Component:
    """Attributes:
        kind: "plugin" or "profile".
        folder: the folder tsharkpost owns for it.
        files: path relative to folder (with /) -> the bytes tsharkpost ships.
        seeds: the same for files Wireshark owns once written (written only when absent).
    """

    kind: str
    folder: Path
    files: dict[str, bytes]
    seeds: dict[str, bytes] = field(default_factory=dict)

    def shipped(self, relative: str) -> bytes | None:
        """The bytes tsharkpost ships at `relative`, a file or a seed; None for any other name."""
        return self.files.get(relative, self.seeds.get(relative))


def components(folders: Folders) -> list[Component]:
    plugin = {PLUGIN_FILE: (lua_dir() / PLUGIN_FILE).read_bytes()}
    plugin.update({f"tables/{table.name}": table.read_bytes() for table in sorted(tables_dir().glob("*.tsv"))})
    # The script's Wireshark-free modules, which it loads from tpost/ beside itself
    plugin.update({f"tpost/{module.name}": module.read_bytes()
                   for module in sorted((lua_dir() / "tpost").glob("*.lua"))})
    profile_files = {name: text.encode("utf-8") for name, text in profile.files().items()}
    profile_seeds = {name: text.encode("utf-8") for name, text in profile.seeds().items()}
    return [Component("plugin", folders.lua_plugins / PLUGIN_FOLDER, plugin),
            Component("profile", folders.configuration / "profiles" / profile.PROFILE_NAME, profile_files,
                      profile_seeds)]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str:
    """The SHA-256 of a file, read a block at a time: a file in the user's folders may be of any size."""
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


def known_files(component: Component) -> frozenset[str]:
    """Every file name install writes (or an earlier version wrote) in the component's folder."""
    return frozenset(component.files) | frozenset(component.seeds) | RETIRED_FILES.get(component.kind, frozenset())


def inside(component: Component, relative: str) -> bool:
    """Whether folder/relative stays inside the component's folder once symbolic links are followed."""
    try:
        (component.folder / relative).resolve().relative_to(component.folder.resolve())
    except (ValueError, OSError, RuntimeError):  # outside, or a symbolic link loop
        return False
    return True


@dataclass
class Manifest:
    """Attributes:
        files: relative path -> SHA-256 of what tsharkpost wrote (only names in known_files).
        created: parent folders install created, outermost first (only parents of the component's folder).
        created_folder: install created the component's folder itself (so Wireshark's state in it is ours to
            remove once nothing else is left).
        ignored: what reading refused, one line each, for the command to warn about.
    """

    files: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    created_folder: bool = False
    ignored: list[str] = field(default_factory=list)

    def dump(self) -> str:
        return json.dumps({"tool": "tsharkpost", "version": __version__, "files": dict(sorted(self.files.items())),
                           "created": self.created, "created_folder": self.created_folder}, indent=2) + "\n"


def read_manifest(component: Component) -> Manifest:
    """The folder's manifest, keeping only entries install could have written; an absent or unreadable one
    counts as empty (every file then judged by content, and none is removed)."""
    path = component.folder / MANIFEST
    try:
        if path.stat().st_size > MANIFEST_MAX_BYTES:
            return Manifest(ignored=[f"ignored: larger than {MANIFEST_MAX_BYTES} bytes"])
        data = json.loads(path.read_text(encoding="utf-8"))
        files, created = dict(data["files"]), list(data["created"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return Manifest()
    manifest = Manifest(created_folder=data.get("created_folder") is True)
    known = known_files(component)
    for relative, digest in files.items():
        if relative not in known:
            manifest.ignored.append(f"ignored {relative}: not a file tsharkpost installs")
        elif not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
            manifest.ignored.append(f"ignored {relative}: not a SHA-256")
        else:
            manifest.files[relative] = digest
    parents = {str(parent) for parent in component.folder.parents}
    for folder in created:
        if isinstance(folder, str) and folder in parents:
            manifest.created.append(folder)
        else:
            manifest.ignored.append(f"ignored created folder {folder}: not a parent of {component.folder}")
    return manifest


def file_state(component: Component, relative: str, manifest: Manifest) -> FileState:
    path = component.folder / relative
    if not path.is_file():
        return FileState.MISSING
    digest = _file_digest(path)
    shipped = component.shipped(relative)
    if shipped is not None and digest == _digest(shipped):
        return FileState.CURRENT
    if manifest.files.get(relative) == digest:
        return FileState.OUTDATED
    return FileState.IN_USE if relative in component.seeds else FileState.CHANGED


def status(component: Component) -> dict[str, FileState]:
    manifest = read_manifest(component)
    return {relative: file_state(component, relative, manifest) for relative in [*component.files, *component.seeds]}


@dataclass(frozen=True)
class Step:
    action: Action
    path: Path
    note: str = ""
    backup: Path | None = None  # OVERWRITE, BACK_UP: where the user's file goes first


@dataclass
class Plan:
    """What install or uninstall will do to one component; `apply` carries it out."""

    component: Component
    steps: list[Step] = field(default_factory=list)
    manifest: Manifest | None = None    # to write (uninstall: what it kept; else it removes it with a step)
    create_folders: list[Path] = field(default_factory=list)
    remove_folders: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the manifest's refused entries, one line each

    @property
    def kept(self) -> list[Step]:
        return [step for step in self.steps if step.action is Action.KEEP]


def _missing_parents(folder: Path) -> list[Path]:
    """folder and its ancestors that do not exist yet, outermost first."""
    missing: list[Path] = []
    for candidate in [folder, *folder.parents]:
        if candidate.exists():
            break
        missing.append(candidate)
    return list(reversed(missing))


def blocked(folder: Path) -> tuple[Path, str] | None:
    """What keeps install from making or using folder, and why: the nearest of it and its parents that exists
    and is no folder, or a symbolic link that leads to none (dangling, or a loop); None when nothing does."""
    for candidate in [folder, *folder.parents]:
        if candidate.is_dir():
            return None
        if candidate.is_symlink():
            return candidate, "a symbolic link that leads to no folder (its target is missing, or it is a loop)"
        if candidate.exists():
            return candidate, "not a folder"
    return None


def _outside(component: Component, path: Path) -> Step:
    return Step(Action.KEEP, path, f"leads outside {component.folder} (a symbolic link): tsharkpost leaves it alone")


def _linked(component: Component) -> Plan | None:
    """A component folder that is itself a symbolic link (to a checkout of lua/, a dotfiles folder) holds files
    tsharkpost never wrote: install would claim them in its manifest and uninstall then delete them. Left alone."""
    if not component.folder.is_symlink():
        return None
    note = (f"a symbolic link to {os.readlink(component.folder)}: tsharkpost writes and removes nothing through it; "
            "make it a real folder to install there")
    return Plan(component, [Step(Action.KEEP, component.folder, note)])


def plan_install(component: Component, force: bool) -> Plan:
    if (linked := _linked(component)) is not None:
        return linked
    old = read_manifest(component)
    plan = Plan(component, create_folders=_missing_parents(component.folder),
                warnings=[f"{component.folder / MANIFEST}: {line}" for line in old.ignored])
    created = old.created or [str(path) for path in plan.create_folders[:-1]]
    manifest = Manifest({}, created, old.created_folder or not component.folder.exists())
    for relative, content in component.files.items():
        path = component.folder / relative
        if not inside(component, relative):
            plan.steps.append(_outside(component, path))
            continue
        state = file_state(component, relative, old)
        # A changed file is one tsharkpost wrote and someone changed since, or one it never wrote (made by hand)
        whose = "changed since tsharkpost wrote it" if relative in old.files else \
            "tsharkpost did not write it (it was there before)"
        if state is FileState.CHANGED and not force:
            plan.steps.append(Step(Action.KEEP, path, f"{whose}; --force replaces it"))
            if relative in old.files:
                manifest.files[relative] = old.files[relative]
            continue
        manifest.files[relative] = _digest(content)
        if state is FileState.MISSING:
            plan.steps.append(Step(Action.CREATE, path))
        elif state is FileState.OUTDATED:
            plan.steps.append(Step(Action.UPDATE, path))
        elif state is FileState.CHANGED:
            backup = backup_path(path)
            kept = "the changed one" if relative in old.files else "yours"
            plan.steps.append(Step(Action.OVERWRITE, path, f"{whose}; {kept} is kept as {backup.name}", backup))
    for relative, content in component.seeds.items():
        path = component.folder / relative
        if not inside(component, relative):
            plan.steps.append(_outside(component, path))
            continue
        state = file_state(component, relative, old)
        if state is FileState.IN_USE:
            continue  # Wireshark's (or the user's) since: left as it is, and no longer tsharkpost's to record
        manifest.files[relative] = _digest(content)
        if state is FileState.MISSING:
            plan.steps.append(Step(Action.CREATE, path, "Wireshark's own file, written once: it keeps it up to date"))
        elif state is FileState.OUTDATED:
            plan.steps.append(Step(Action.UPDATE, path))
    # Files an earlier version installed and this one does not: removed when untouched.
    for relative in sorted(set(old.files) - set(component.files) - set(component.seeds)):
        path = component.folder / relative
        if inside(component, relative) and path.is_file() and _file_digest(path) == old.files[relative]:
            plan.steps.append(Step(Action.REMOVE, path, "no longer part of tsharkpost"))
    if not _holds(component.folder / MANIFEST, manifest.dump().encode("utf-8")):
        plan.manifest = manifest
    return plan


def _holds(path: Path, data: bytes) -> bool:
    """Whether path is a file of exactly these bytes (read only when its size matches: it may be anything)."""
    return path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data


def plan_uninstall(component: Component, force: bool) -> Plan:
    """Remove what install wrote and recorded; move aside (--force) or keep what the user changed."""
    if (linked := _linked(component)) is not None:
        return linked
    old = read_manifest(component)
    plan = Plan(component, warnings=[f"{component.folder / MANIFEST}: {line}" for line in old.ignored])
    for relative in sorted(set(old.files) | set(component.files)):
        path = component.folder / relative
        if not path.is_file():
            continue
        if not inside(component, relative):
            plan.steps.append(_outside(component, path))
            continue
        digest = _file_digest(path)
        if relative in component.seeds:
            seed = component.seeds[relative]
            if relative in old.files and digest in (old.files[relative], _digest(seed)):
                plan.steps.append(Step(Action.REMOVE, path))
            continue  # otherwise Wireshark's own by now: the rule for Wireshark's state below decides
        if relative not in old.files:
            plan.steps.append(Step(Action.KEEP, path, "tsharkpost did not write it (its manifest does not list "
                                                      "it): left as it is"))
        elif digest == old.files[relative] or (
                relative in component.files and digest == _digest(component.files[relative])):
            plan.steps.append(Step(Action.REMOVE, path))
        elif force:
            backup = backup_path(path)
            plan.steps.append(Step(Action.BACK_UP, path, f"changed since tsharkpost wrote it; moved to {backup.name}",
                                   backup))
        else:
            plan.steps.append(Step(Action.KEEP, path, "changed since tsharkpost wrote it; --force moves it aside"))
    if component.folder.is_dir():
        going = {step.path for step in plan.steps if step.action in (Action.REMOVE, Action.BACK_UP)}
        leftovers = [path for path in component.folder.rglob("*")
                     if not path.is_dir() and path not in going and path.name != MANIFEST]
        if component.kind == "profile" and old.created_folder and all(
                path.parent == component.folder and path.name in WIRESHARK_STATE_FILES and path.is_file()
                and not path.is_symlink() for path in leftovers):
            plan.steps += [Step(Action.REMOVE, path, "Wireshark's state for this profile") for path in leftovers]
        # A kept file stays listed, so that a later uninstall --force still knows tsharkpost wrote it.
        kept = {relative: digest for relative, digest in old.files.items()
                if any(step.action is Action.KEEP and step.path == component.folder / relative for step in plan.steps)}
        if kept:
            plan.manifest = Manifest(kept, old.created, old.created_folder)
        elif (component.folder / MANIFEST).is_file():
            plan.steps.append(Step(Action.REMOVE, component.folder / MANIFEST, "tsharkpost's list of its files"))
        # Only the folders install writes into, deepest first; each is removed only if it ends up empty.
        subfolders = {parent for relative in known_files(component)
                      for parent in (component.folder / relative).parents if component.folder in parent.parents}
        plan.remove_folders = [*sorted(subfolders, key=lambda path: len(path.parts), reverse=True),
                               component.folder, *(Path(p) for p in reversed(old.created))]
    return plan


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so a reader never sees half a file. An OSError names
    path, the file the user knows, not the temporary one."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from error
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise


def apply(plan: Plan) -> None:
    """Carry out a plan; OSError propagates (the caller names the path)."""
    component = plan.component
    for step in plan.steps:
        relative = step.path.relative_to(component.folder).as_posix()
        if step.action in (Action.CREATE, Action.UPDATE, Action.OVERWRITE):
            step.path.parent.mkdir(parents=True, exist_ok=True)
            if step.backup is not None:
                keep_aside(step.path, step.backup)
            content = component.shipped(relative)
            assert content is not None
            _write(step.path, content)  # replaces the name only: a linked backup keeps the user's bytes
        elif step.action is Action.BACK_UP:
            assert step.backup is not None
            if keep_aside(step.path, step.backup)[1]:
                step.path.unlink()
        elif step.action is Action.REMOVE:
            step.path.unlink()
    if plan.manifest is not None:
        component.folder.mkdir(parents=True, exist_ok=True)
        _write(component.folder / MANIFEST, plan.manifest.dump().encode("utf-8"))
    for folder in plan.remove_folders:
        if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()
