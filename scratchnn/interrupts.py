"""Ctrl-C never leaves half an optimizer update behind.

The update in `Trainer._train_batch` is several in-place NumPy operations over the
flat weight buffer (optimizers/: e.g. Adam updates m, then v, then w). Python
delivers Ctrl-C (SIGINT) as a KeyboardInterrupt between any two of them; left alone,
an interrupted fit could keep weights moved by half a step, or moment estimates
updated for a step the weights never took. So:

    @handles_ctrl_c                 # fit, train_on_batch: our SIGINT handler is installed
    def fit(...):                   # for the whole call (once: installing costs ~20 us)
        ...
        with uninterruptible:       # a SIGINT arriving in here is held back ...
            optimizer.apply_flat(...)
        # ... and raised here, as the KeyboardInterrupt the user expects, after the step.

Outside an `uninterruptible` block the handler passes the signal straight on to the
handler it replaced (normally Python's, which raises KeyboardInterrupt), so Ctrl-C
behaves as usual. Signals can only be handled in the main thread: in any other thread
(or where SIGINT is ignored or left to the OS) nothing is installed and nothing changes.
"""

from __future__ import annotations

import functools
import signal
import threading
from typing import Callable


class _SigintDeferral:
    """The process-wide state behind `handles_ctrl_c` and `uninterruptible`."""

    def __init__(self) -> None:
        self.previous = None       # the handler ours replaced, while ours is installed
        self.installs = 0          # nesting of handles_ctrl_c calls (fit inside fit...)
        self.depth = 0             # nesting of uninterruptible blocks being run
        self.pending = None        # (signum, frame) of a SIGINT held back

    def handler(self, signum, frame) -> None:
        if self.depth:
            self.pending = (signum, frame)      # deliver when the block ends
        else:
            self.previous(signum, frame)

    def install(self) -> bool:
        if self.installs == 0:
            if threading.current_thread() is not threading.main_thread():
                return False
            current = signal.getsignal(signal.SIGINT)
            if not callable(current):           # SIG_IGN, SIG_DFL, or set outside Python
                return False
            self.previous = current
            signal.signal(signal.SIGINT, self.handler)
        self.installs += 1
        return True

    def uninstall(self) -> None:
        self.installs -= 1
        if self.installs == 0:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    # `with uninterruptible:` (two attribute updates: cheap enough for every step)
    def __enter__(self) -> None:
        self.depth += 1

    def __exit__(self, *exc_info) -> None:
        self.depth -= 1
        if self.depth == 0 and self.pending is not None:
            signum, frame = self.pending
            self.pending = None
            self.previous(signum, frame)        # Python's handler raises KeyboardInterrupt


_state = _SigintDeferral()
uninterruptible = _state
"""`with uninterruptible:` holds Ctrl-C back until the block is done (within a call
decorated with `handles_ctrl_c`; elsewhere it changes nothing)."""


def handles_ctrl_c(method: Callable) -> Callable:
    """Decorator: install the SIGINT handler for the duration of `method`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        installed = _state.install()
        try:
            return method(*args, **kwargs)
        finally:
            if installed:
                _state.uninstall()

    return wrapper
