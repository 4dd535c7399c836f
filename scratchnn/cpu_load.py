"""How busy the rest of the machine is: the CPU time OTHER processes took, from /proc/stat.

/proc/stat counts the time each CPU spent busy since boot, in clock ticks; `os.times()`
counts this process's own CPU time (all its threads, and the children it waited for).
Over a window of wall time,

    others = (busy seconds of our CPUs - our own CPU seconds) / wall seconds

is how many CPUs the rest of the machine kept busy meanwhile: 0.0 on a quiet machine,
about 1.0 beside one program spinning. The load average cannot tell that apart from our
own work. "Our CPUs" are those this process may run on (os.sched_getaffinity). Steal is
time the hypervisor gave our virtual CPUs to someone else. Linux only: elsewhere every
reading is None.

shard_policy.py asks a `LoadWatch` how many CPUs are left for its shards; the benchmark
(benchmarks/machine.py `CpuWatch`) records the same for every row it times.
"""

from __future__ import annotations

import os
import time
from typing import NamedTuple


class Reading(NamedTuple):
    wall: float         # time.monotonic()
    busy: float         # busy seconds of our CPUs since boot (user nice system irq softirq)
    steal: float        # seconds the hypervisor took from our CPUs
    own: float          # this process's CPU seconds (its threads and waited-for children)


def read() -> Reading | None:
    """The counters now, or None where /proc/stat cannot be read."""
    try:
        cpus = {f"cpu{i}" for i in os.sched_getaffinity(0)}
        busy = steal = 0
        with open("/proc/stat") as f:
            for line in f:
                name, *ticks = line.split()
                if name in cpus:       # user nice system idle iowait irq softirq steal ...
                    busy += sum(int(ticks[i]) for i in (0, 1, 2, 5, 6))
                    steal += int(ticks[7]) if len(ticks) > 7 else 0
        tick, t = os.sysconf("SC_CLK_TCK"), os.times()
        return Reading(time.monotonic(), busy / tick, steal / tick,
                       t.user + t.system + t.children_user + t.children_system)
    except (OSError, ValueError, AttributeError, IndexError):
        return None


def others_between(start: Reading, end: Reading) -> tuple[float, float]:
    """(CPUs other processes kept busy, CPUs stolen), on average from `start` to `end`."""
    wall = end.wall - start.wall
    others = max((end.busy - start.busy) - (end.own - start.own), 0.0) / wall
    return others, (end.steal - start.steal) / wall


class LoadWatch:
    """The CPUs other processes leave free, measured over windows of at least
    `recheck_seconds`: one file read per window, never per call."""

    def __init__(self, recheck_seconds: float) -> None:
        self.recheck_seconds = recheck_seconds
        self.last = read()                 # the first window starts now
        self.free: float | None = None

    def free_cpus(self, cpus: int) -> float:
        """`cpus` minus what other processes (and the hypervisor) took in the last
        window; all of them where nothing can be measured."""
        if self.last is None:
            return float(cpus)
        if self.free is None or time.monotonic() - self.last.wall >= self.recheck_seconds:
            now = read()
            if now is None or now.wall - self.last.wall < 0.01:     # no window yet
                return float(cpus) if self.free is None else self.free
            others, steal = others_between(self.last, now)
            self.free, self.last = cpus - others - steal, now
        return self.free
