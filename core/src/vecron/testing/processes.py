"""The processes a test started: what the executor contract checks after cancelling a run.

Only the standard library: the contract ships to plugin authors, who may not have
psutil. Linux is read from ``/proc``; elsewhere (macOS, the BSDs) ``ps`` answers.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

PROC = Path("/proc")
#: ``prctl`` option that makes this process adopt its orphaned descendants (Linux).
PR_SET_CHILD_SUBREAPER = 36


def _table_from_proc() -> dict[int, tuple[int, str]]:
    table: dict[int, tuple[int, str]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        # "pid (command) state ppid …": the command may hold spaces and parentheses.
        state, ppid = stat.rpartition(")")[2].split()[:2]
        table[int(entry.name)] = (int(ppid), state)
    return table


def _table_from_ps() -> dict[int, tuple[int, str]]:
    ps = shutil.which("ps")
    if ps is None:
        raise RuntimeError("cannot list processes: no /proc and no `ps` on this system")
    listing = subprocess.run(
        [ps, "-A", "-o", "pid=,ppid=,stat="], capture_output=True, text=True, check=True
    ).stdout
    table: dict[int, tuple[int, str]] = {}
    for line in listing.splitlines():
        pid, ppid, state = line.split()[:3]
        table[int(pid)] = (int(ppid), state[0])
    return table


def process_table() -> dict[int, tuple[int, str]]:
    """``{pid: (parent pid, state letter)}`` of every process this user can see."""
    return _table_from_proc() if PROC.is_dir() else _table_from_ps()


def descendants(
    root: int | None = None, table: Mapping[int, tuple[int, str]] | None = None
) -> frozenset[int]:
    """Live (not zombie) descendants of ``root`` (this process by default)."""
    table = process_table() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    stack = [os.getpid() if root is None else root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return frozenset(pid for pid in found if table[pid][1] != "Z")


def command_line(pid: int) -> str:
    """What process ``pid`` runs, for a failure message ("" once it is gone)."""
    if PROC.is_dir():
        try:
            raw = (PROC / str(pid) / "cmdline").read_bytes()
        except OSError:
            return ""
        return raw.replace(b"\0", b" ").decode(errors="replace").strip()
    ps = shutil.which("ps")
    if ps is None:
        return ""
    found = subprocess.run([ps, "-o", "command=", "-p", str(pid)], capture_output=True, text=True)
    return found.stdout.strip()


def _set_subreaper(on: bool) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


@contextmanager
def adopting_orphans() -> Iterator[None]:
    """While inside, descendants whose parent dies stay this process's descendants.

    A shell executor that kills ``sh`` but not the ``sleep`` it started leaves the
    ``sleep`` running under init, where looking for descendants would miss it. On Linux
    this process becomes a child subreaper for the block, so the ``sleep`` is re-parented
    here instead; elsewhere only processes whose parent is still alive are seen.
    """
    adopted = _set_subreaper(True)
    try:
        yield
    finally:
        if adopted:
            _set_subreaper(False)


def kill(pids: frozenset[int], *, timeout: float = 5.0) -> None:
    """Kill ``pids`` and return once none of them runs any more (at most ``timeout``
    seconds); whoever started them reaps them (asyncio's child watcher for its own
    children: reaping here would race it)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    # SIGKILL is delivered, not done: until the kernel ends it the process still runs.
    deadline = time.monotonic() + timeout
    while still_running(pids) and time.monotonic() < deadline:
        time.sleep(0.01)


def still_running(pids: frozenset[int]) -> frozenset[int]:
    """Those of ``pids`` that still run (a zombie has ended)."""
    table = process_table()
    return frozenset(pid for pid in pids if pid in table and table[pid][1] != "Z")
