"""Fewer glibc malloc arenas for the long-running local stack.

glibc gives threads that allocate at once their own arenas (up to 8 per core) and keeps
freed memory in each, so a server whose requests move between threads grows with every
burst of concurrent clients; ``MALLOC_ARENA_MAX=2`` stops that. ``layerserve dev`` sets
the same limit through ``mallopt`` as it starts, unless the environment already chose.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8
"""``mallopt`` parameter number of ``M_ARENA_MAX`` in glibc's ``<malloc.h>``."""
ARENAS = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """``True`` when the limit was set (glibc only; ``MALLOC_ARENA_MAX`` wins if set)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_ARENA_MAX, count))
