"""The `wireshark` (install, uninstall, status) and `filters` commands: arguments, output, exit codes."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from tsharkpost.capture import tshark as ts
from tsharkpost.commands.common import ExitCode, exit_codes_help, log
from tsharkpost.errors import TsharkError, UnknownPreset
from tsharkpost.render.text import printable
from tsharkpost.plugin.location import PLUGIN_FILE
from tsharkpost.wireshark import installer
from tsharkpost.wireshark.folders import decoded, discover
from tsharkpost.wireshark.installer import Action, Component, FileState, Plan
from tsharkpost.wireshark.presets import PRESETS, preset
from tsharkpost.wireshark.profile import PROFILE_NAME

WIRESHARK_EXIT_CODES = exit_codes_help({
    ExitCode.OK: "done (install, uninstall), or everything installed and current (status)",
    ExitCode.FAIL_ON: "a file changed by the user (use --force) or not written by tsharkpost was kept, or not\n"
                      "       installed / not current (status)",
    ExitCode.INPUT_ERROR: "a file or folder could not be read, written or removed (nothing was changed when\n"
                          "       it could not be read)",
    ExitCode.NO_TSHARK: "tshark is missing, too old or cannot run, or reports a folder tsharkpost cannot use\n"
                        "       (relative, or with a line break): nothing was changed",
})
FILTERS_EXIT_CODES = exit_codes_help({ExitCode.OK: "the presets, or the one filter asked for"}, runs_tshark=False)


def add_parser(commands: Any) -> None:
    wireshark = commands.add_parser(
        "wireshark", help="install, update or remove the Wireshark plugin and the TLS Troubleshooting profile",
        description=f"Copy the tsharkpost Lua plugin (with its tables) into Wireshark's personal Lua plugins "
                    f"folder and the \"{PROFILE_NAME}\" profile into its personal profiles folder, both as "
                    "`tshark -G folders` reports them. Files changed by the user are kept unless --force.",
        epilog=WIRESHARK_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = wireshark.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("install", "install or update the plugin and the profile"),
                       ("uninstall", "remove what install wrote"),
                       ("status", "where the plugin and the profile are, and whether they are current")):
        action = actions.add_parser(name, help=text, description=text, epilog=WIRESHARK_EXIT_CODES,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        if name != "status":
            action.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
            action.add_argument("--force", action="store_true",
                                help="also replace (install) or take away (uninstall) files the user changed; "
                                     "the user's version is moved to NAME.tsharkpost-backup-TIME, never deleted")
        action.add_argument("--tshark", metavar="PATH", help="the tshark executable (or its folder)")
    filters = commands.add_parser(
        "filters", help="the display-filter presets (all, or one by name)",
        description="Without NAME: every preset with its filter and what it finds. With NAME: only the filter, "
                    "for tshark -Y \"$(tsharkpost filters NAME)\". Presets marked 'plugin' need the tsharkpost "
                    "plugin loaded (tshark -X lua_script:..., or `tsharkpost wireshark install`).",
        epilog=FILTERS_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    filters.add_argument("name", nargs="?", metavar="NAME", choices=[item.name for item in PRESETS],
                         help="one of: " + ", ".join(item.name for item in PRESETS))


def run(args: argparse.Namespace) -> int:
    if args.command == "filters":
        return _filters(args.name)
    return _wireshark(args)


def _filters(name: str | None) -> int:
    out = sys.stdout
    if name:
        try:
            out.write(preset(name).filter + "\n")
        except UnknownPreset:  # argparse's choices refuse it first; this serves callers of run()
            log.error("unknown preset %s; known: %s", name, ", ".join(item.name for item in PRESETS))
            return ExitCode.USAGE
        return ExitCode.OK
    width = max(len(item.name) for item in PRESETS)
    out.write(f"{'name':<{width}}  plugin  finds / filter\n")
    for item in PRESETS:
        out.write(f"{item.name:<{width}}  {'yes' if item.needs_plugin else '-':<6}  {item.finds}\n")
        out.write(f"{'':<{width}}          {item.filter}\n")
    return ExitCode.OK


def _wireshark(args: argparse.Namespace) -> int:
    try:
        # The installer writes only what it installs (and --dry-run nothing): not even tshark's version cache.
        tshark = ts.locate(args.tshark, remember=False)
        folders = discover(tshark)
    except TsharkError as error:
        log.error("%s", error)
        return ExitCode.NO_TSHARK
    components = installer.components(folders)
    try:
        if args.action == "status":  # read all first: an error writing standard output is no error reading
            states = [installer.status(component) for component in components]
        else:
            _warn_other_copies(folders.lua_plugins, components[0].folder)
            # Checked for both before either is written: a half install would be left otherwise.
            # (once each: a file for HOME blocks both)
            blocks = list(dict.fromkeys(found for component in components
                                        if (found := installer.blocked(component.folder))))
            if args.action == "install" and blocks:
                for path, reason in blocks:
                    log.error("%s: cannot install: %s", path, reason)
                return ExitCode.INPUT_ERROR
            # Every plan is made before anything changes: a file or folder that cannot be read stops it all here.
            plans = [installer.plan_install(component, args.force) if args.action == "install"
                     else installer.plan_uninstall(component, args.force) for component in components]
    except OSError as error:
        _cannot(error, "read", components[0].folder)
        return ExitCode.INPUT_ERROR
    if args.action == "status":
        return _status(tshark, components, states)
    for plan in plans:
        for warning in plan.warnings:
            log.warning("%s", warning)
    for plan in plans:
        _show(plan, args.dry_run)
        if args.dry_run:
            continue
        try:
            installer.apply(plan)
        except OSError as error:
            _cannot(error, args.action, plan.component.folder)
            return ExitCode.INPUT_ERROR
    for plan in plans:
        for step in plan.kept:
            log.warning("%s: kept: %s", step.path, step.note)
    if args.dry_run:
        sys.stdout.write("dry run: nothing was changed\n")
    elif args.action == "install":
        sys.stdout.write(f"Wireshark: pick the profile with Edit > Configuration Profiles, or start it with "
                         f"wireshark -C \"{PROFILE_NAME}\"\n")
    return ExitCode.FAIL_ON if any(plan.kept for plan in plans) else ExitCode.OK


def _cannot(error: OSError, doing: str, folder: Path) -> None:
    """One line: the path the error names (else the component's folder), what could not be done, and why."""
    log.error("%s: cannot %s: %s", error.filename or folder, doing, error.strerror or error)


def _show(plan: Plan, dry_run: bool) -> None:
    component = plan.component
    out = sys.stdout
    out.write(f"{component.kind}: {printable(str(component.folder))}\n")
    if not plan.steps and plan.manifest is None:
        if component.folder.is_dir():
            out.write(f"  up to date ({len(component.files) + len(component.seeds)} files)\n")
        else:
            out.write("  not installed\n")
        return
    for step in plan.steps:
        verb = f"would {step.action.value}" if dry_run else step.action.value
        relative = step.path.relative_to(component.folder).as_posix()
        out.write(f"  {verb:<15} {printable(relative)}{'  (' + printable(step.note) + ')' if step.note else ''}\n")
    if plan.manifest is not None and not any(step.action is not Action.KEEP for step in plan.steps):
        out.write(f"  {'would record' if dry_run else 'record'} {installer.MANIFEST}\n")


def _warn_other_copies(lua_plugins: Path, ours: Path) -> None:
    """Another tsharkpost.lua in the plugins folder registers tpost twice: Wireshark then fails to load one."""
    if not lua_plugins.is_dir():
        return
    for copy in sorted(lua_plugins.rglob(PLUGIN_FILE)):
        if copy.parent != ours:
            log.warning("%s: another copy of the plugin; Wireshark would load both: remove it", copy)


def _loaded_plugins(tshark: ts.Tshark) -> str | None:
    """tshark's list of the plugins it loads; None (with a warning) when tshark cannot say."""
    try:
        process = subprocess.run([tshark.path, "-G", "plugins"], capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("%s -G plugins failed: %s", tshark.path, error)
        return None
    return decoded(process.stdout)  # as the folders were, so that the plugin's path compares equal


def _status(tshark: ts.Tshark, components: list[Component], found: list[dict[str, FileState]]) -> int:
    out = sys.stdout
    out.write(f"tshark: {printable(tshark.path)} ({tshark.version})\n")
    everything_current = True
    for component, states in zip(components, found):
        counts = {state: sum(1 for s in states.values() if s is state) for state in FileState}
        # A seed Wireshark rewrote (in use) is as it should be: Wireshark keeps it up to date
        current = counts[FileState.CURRENT] + counts[FileState.IN_USE] == len(states)
        if current:
            summary = f"installed, current ({len(states)} files)"
        elif counts[FileState.MISSING] == len(states):
            summary = "not installed"
        else:
            summary = ", ".join(f"{count} {state.value}" for state, count in counts.items() if count)
        everything_current &= current
        out.write(f"{component.kind}: {printable(str(component.folder))}: {summary}\n")
        if counts[FileState.MISSING] < len(states):  # installed, at least in part: which files are not current
            for relative, state in states.items():
                if state not in (FileState.CURRENT, FileState.IN_USE):
                    out.write(f"  {state.value:<9} {relative}\n")
    plugin_file = components[0].folder / PLUGIN_FILE
    plugins = _loaded_plugins(tshark)
    loaded = plugins is not None and str(plugin_file) in plugins
    out.write(f"tshark loads the plugin: {'unknown' if plugins is None else 'yes' if loaded else 'no'}\n")
    return ExitCode.OK if everything_current and loaded else ExitCode.FAIL_ON
