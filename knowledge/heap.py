"""Give back to the operating system the memory that the C allocators keep after a burst of work.

Loading Kiwi's model and building the matcher's index allocate and free a few hundred MB of temporaries.

* glibc's malloc keeps freed chunks in its arenas (one per thread that allocated, up to 8 per core) until
  ``malloc_trim`` returns them: 10-15 MB after Kiwi's load, more after an index build in a worker thread.
* Kiwi allocates part of its model with the mimalloc it is built with, which gives freed pages back only
  ``MIMALLOC_PURGE_DELAY`` ms after they are freed (10 by default) and only when it next runs: after the load
  it does not run again until the first question. ``morph.get_kiwi`` sets the delay to 0 (unless the
  environment sets it) before Kiwi is loaded, and ``collect_kiwi`` makes mimalloc purge now.

Both are no-ops where the allocator is not there (another libc, another platform).

``freeze_heap`` is the Python side: the long-lived objects left after start-up are kept out of the garbage
collector's full collections.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

__all__ = ["malloc_trim", "collect_kiwi", "freeze_heap"]

_libc = None


def malloc_trim() -> bool:
    """glibc's ``malloc_trim(0)``: free memory at the top and inside every malloc arena goes back to the OS.
    Returns whether anything was given back (False where glibc is not the allocator)."""
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim  # noqa: B018  (musl has no malloc_trim)
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return False
    return bool(_libc.malloc_trim(0))


def collect_kiwi() -> None:
    """Make Kiwi's mimalloc purge the pages freed by the calling thread now (``mi_collect(true)``)."""
    try:
        import _kiwipiepy

        ctypes.CDLL(_kiwipiepy.__file__).mi_collect(ctypes.c_bool(True))
    except (ImportError, OSError, AttributeError):
        pass


def freeze_heap() -> None:
    """Collect garbage once and exclude what is left (the matcher, Kiwi's wrappers, the loaded modules) from
    later collections. A full collection otherwise walks those long-lived objects every few hundred requests
    (~40 ms with the matcher loaded), and in workers forked from a parent it would write to, and so copy, the
    parent's pages. Called after start-up and after every matcher rebuild (what an earlier call froze becomes
    collectable again first: the previous matcher)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
