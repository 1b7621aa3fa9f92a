"""The machine a run was measured on: CPU, memory, kernel, Python, PostgreSQL, and the disk under test."""

from __future__ import annotations

import os
import platform
import subprocess


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def cpu() -> str:
    """The CPU model and the number of logical CPUs, from /proc/cpuinfo."""
    text = _read("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
    count = sum(1 for line in text.splitlines() if line.startswith("processor")) or os.cpu_count() or 0
    return f"{models[0] if models else platform.processor() or 'unknown'}, {count} logical CPU{'s' if count != 1 else ''}"


def memory() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def postgres_version(bindir: str) -> str:
    try:
        return subprocess.run([f"{bindir}/postgres", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def disk(directory: str) -> str:
    """Filesystem type, device, size and use of the filesystem holding ``directory`` (`df -T`)."""
    try:
        lines = subprocess.run(["df", "-T", "-k", directory], capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    fields = lines[-1].split()
    if len(fields) < 7:
        return lines[-1]
    device, kind, size_kb, used = fields[0], fields[1], int(fields[2]), fields[5]
    return f"{kind} on {device}, {size_kb / 1024 / 1024:.0f} GiB, {used} used, mounted on {fields[6]}"


def describe(directory: str, pg_bindir: str) -> dict[str, str]:
    """What the report's machine section lists, in order."""
    return {
        "CPU": cpu(),
        "RAM": memory(),
        "kernel": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "PostgreSQL": postgres_version(pg_bindir),
        "disk of the data directories": disk(directory),
    }
