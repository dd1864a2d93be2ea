"""What a benchmark records of the CPU it ran on."""
from __future__ import annotations

import platform
import re
from pathlib import Path


def cpu() -> dict:
    """The CPU's model name and whether it has AVX-512 (XLA's gain, for one, differs between CPUs), read from
    ``/proc/cpuinfo``; elsewhere the platform's processor name."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", info, re.M)
    return {"cpu": model.group(1) if model else platform.processor() or platform.machine(),
            "avx512f": "avx512f" in (flags.group(1).split() if flags else [])}
