"""Install, update and remove the plugin and the profile: plans first, then (unless a dry run) the changes.

Each of the two folders tsharkpost owns (the plugin's subfolder of the personal
Lua plugins folder, the profile's folder) holds a manifest with the SHA-256 of
every file tsharkpost wrote there and the parent folders it had to create. A file
whose content is neither what tsharkpost ships now nor what it wrote last time
was changed by the user: it is kept unless --force, on install and uninstall alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from tsharkpost import __version__
from tsharkpost.plugin.location import PLUGIN_FILE, lua_dir, tables_dir
from tsharkpost.wireshark import profile
from tsharkpost.wireshark.folders import Folders

MANIFEST = ".tsharkpost-manifest.json"
PLUGIN_FOLDER = "tsharkpost"  # Wireshark loads *.lua from subfolders too; tables/ and tpost/ sit beside the script
# Files Wireshark itself writes into a profile folder it has used (window layout, recent
# filters): they mean nothing once the profile is gone, so uninstall takes them along.
WIRESHARK_STATE_FILES = frozenset({"recent"})


class FileState(str, Enum):
    MISSING = "missing"
    CURRENT = "current"      # what this tsharkpost ships
    OUTDATED = "outdated"    # what an earlier install wrote, unchanged since: safe to update
    CHANGED = "changed"      # changed by someone else: kept unless --force


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    OVERWRITE = "overwrite"  # a changed file, with --force
    KEEP = "keep"            # a changed file, without --force
    REMOVE = "remove"


@dataclass(frozen=True)
class Component:
    """Attributes:
        kind: "plugin" or "profile".
        folder: the folder tsharkpost owns for it.
        files: path relative to folder (with /) -> the bytes tsharkpost ships.
    """

    kind: str
    folder: Path
    files: dict[str, bytes]


def components(folders: Folders) -> list[Component]:
    plugin = {PLUGIN_FILE: (lua_dir() / PLUGIN_FILE).read_bytes()}
    plugin.update({f"tables/{table.name}": table.read_bytes() for table in sorted(tables_dir().glob("*.tsv"))})
    # The script's Wireshark-free modules, which it loads from tpost/ beside itself
    plugin.update({f"tpost/{module.name}": module.read_bytes()
                   for module in sorted((lua_dir() / "tpost").glob("*.lua"))})
    profile_files = {name: text.encode("utf-8") for name, text in profile.files().items()}
    return [Component("plugin", folders.lua_plugins / PLUGIN_FOLDER, plugin),
            Component("profile", folders.configuration / "profiles" / profile.PROFILE_NAME, profile_files)]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Manifest:
    files: dict[str, str] = field(default_factory=dict)   # relative path -> SHA-256 of what tsharkpost wrote
    created: list[str] = field(default_factory=list)      # parent folders install created, outermost first

    def dump(self) -> str:
        return json.dumps({"tool": "tsharkpost", "version": __version__, "files": dict(sorted(self.files.items())),
                           "created": self.created}, indent=2) + "\n"


def read_manifest(folder: Path) -> Manifest:
    """The folder's manifest; an absent or unreadable one counts as empty (every file then judged by content)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return Manifest({str(k): str(v) for k, v in data["files"].items()}, [str(p) for p in data["created"]])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Manifest()


def file_state(component: Component, relative: str, manifest: Manifest) -> FileState:
    path = component.folder / relative
    if not path.is_file():
        return FileState.MISSING
    digest = _digest(path.read_bytes())
    if relative in component.files and digest == _digest(component.files[relative]):
        return FileState.CURRENT
    return FileState.OUTDATED if manifest.files.get(relative) == digest else FileState.CHANGED


def status(component: Component) -> dict[str, FileState]:
    manifest = read_manifest(component.folder)
    return {relative: file_state(component, relative, manifest) for relative in component.files}


@dataclass(frozen=True)
class Step:
    action: Action
    path: Path
    note: str = ""


@dataclass
class Plan:
    """What install or uninstall will do to one component; `apply` carries it out."""

    component: Component
    steps: list[Step] = field(default_factory=list)
    manifest: Manifest | None = None    # to write (install only; uninstall removes it with a step)
    create_folders: list[Path] = field(default_factory=list)
    remove_folders: list[Path] = field(default_factory=list)

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


def plan_install(component: Component, force: bool) -> Plan:
    old = read_manifest(component.folder)
    plan = Plan(component, create_folders=_missing_parents(component.folder))
    created = old.created or [str(path) for path in plan.create_folders[:-1]]
    manifest = Manifest({}, created)
    for relative, content in component.files.items():
        state = file_state(component, relative, old)
        path = component.folder / relative
        if state is FileState.CHANGED and not force:
            plan.steps.append(Step(Action.KEEP, path, "changed since tsharkpost wrote it; --force replaces it"))
            if relative in old.files:
                manifest.files[relative] = old.files[relative]
            continue
        manifest.files[relative] = _digest(content)
        if state is FileState.MISSING:
            plan.steps.append(Step(Action.CREATE, path))
        elif state is FileState.OUTDATED:
            plan.steps.append(Step(Action.UPDATE, path))
        elif state is FileState.CHANGED:
            plan.steps.append(Step(Action.OVERWRITE, path, "changed since tsharkpost wrote it"))
    # Files an earlier version shipped and this one does not: removed when untouched.
    for relative in sorted(set(old.files) - set(component.files)):
        path = component.folder / relative
        if path.is_file() and _digest(path.read_bytes()) == old.files[relative]:
            plan.steps.append(Step(Action.REMOVE, path, "no longer part of tsharkpost"))
    manifest_path = component.folder / MANIFEST
    if not manifest_path.is_file() or manifest_path.read_text(encoding="utf-8") != manifest.dump():
        plan.manifest = manifest
    return plan


def plan_uninstall(component: Component, force: bool) -> Plan:
    old = read_manifest(component.folder)
    plan = Plan(component)
    for relative in sorted(set(old.files) | set(component.files)):
        path = component.folder / relative
        if not path.is_file():
            continue
        digest = _digest(path.read_bytes())
        ours = digest == old.files.get(relative) or (
            relative in component.files and digest == _digest(component.files[relative]))
        if ours or force:
            plan.steps.append(Step(Action.REMOVE, path, "" if ours else "changed since tsharkpost wrote it"))
        else:
            plan.steps.append(Step(Action.KEEP, path, "changed since tsharkpost wrote it; --force removes it"))
    if component.folder.is_dir():
        removed = {step.path for step in plan.steps if step.action is Action.REMOVE}
        leftovers = [path for path in component.folder.rglob("*")
                     if path.is_file() and path not in removed and path.name != MANIFEST]
        if all(path.parent == component.folder and path.name in WIRESHARK_STATE_FILES for path in leftovers) \
                and component.kind == "profile":
            plan.steps += [Step(Action.REMOVE, path, "Wireshark's state for this profile") for path in leftovers]
        if (component.folder / MANIFEST).is_file():
            plan.steps.append(Step(Action.REMOVE, component.folder / MANIFEST, "tsharkpost's list of its files"))
        subfolders = sorted((path for path in component.folder.rglob("*") if path.is_dir()), reverse=True)
        plan.remove_folders = [*subfolders, component.folder, *(Path(p) for p in reversed(old.created))]
    return plan


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so a reader never sees half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def apply(plan: Plan) -> None:
    """Carry out a plan; OSError propagates (the caller names the path)."""
    component = plan.component
    for step in plan.steps:
        relative = step.path.relative_to(component.folder).as_posix()
        if step.action in (Action.CREATE, Action.UPDATE, Action.OVERWRITE):
            step.path.parent.mkdir(parents=True, exist_ok=True)
            _write(step.path, component.files[relative])
        elif step.action is Action.REMOVE:
            step.path.unlink()
    if plan.manifest is not None:
        component.folder.mkdir(parents=True, exist_ok=True)
        _write(component.folder / MANIFEST, plan.manifest.dump().encode("utf-8"))
    for folder in plan.remove_folders:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
