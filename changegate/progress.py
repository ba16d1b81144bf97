"""Progress for long runs: a live counter on a terminal, a few plain lines elsewhere.

CodeBuild logs and CI are not terminals: there a carriage-return animation would be
noise, so ``Progress`` prints one line at each tenth of the work instead.
"""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int, *, stream: TextIO | None = None,
                 minimum: int = 20, enabled: bool = True) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        # small runs finish before a progress line would be read
        self.enabled = enabled and total >= minimum
        self.tty = self.stream.isatty()
        self._last_tenth = 0

    def __call__(self, item: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.tty:
            self.stream.write(f"\r{self.label}: {self.done}/{self.total} {item[:40]:<40}")
            if self.done >= self.total:
                self.stream.write("\n")
            self.stream.flush()
            return
        tenth = self.done * 10 // max(self.total, 1)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(f"{self.label}: {self.done}/{self.total}\n")
            self.stream.flush()
