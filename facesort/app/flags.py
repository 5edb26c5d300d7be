"""What the command lines' parsers share: a usage error in one line (exit code 2), a
number type with its bounds, and the --cluster address type."""
from __future__ import annotations

import argparse
import re
from typing import Callable

EXIT_USAGE = 2
LOCAL = re.compile(r"local(?::(\d+))?")  # --cluster local or local:N


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where to look next."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def number_in(low: float, high: float, *, low_open: bool = False,
              high_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a float within [low, high], each end optionally open."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if value != value or too_low or too_high:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            raise argparse.ArgumentTypeError(f"{text} is outside {left}{low:g}, {high:g}{right}")
        return value

    return parse


def cluster_address(text: str) -> str:
    """An argparse type: ``local``, ``local:N`` or a scheduler's address (host:port)."""
    match = LOCAL.fullmatch(text)
    if match and match.group(1) is not None and int(match.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': local:N needs N >= 1 worker processes")
    if not match and (text.startswith("local") or ":" not in text):
        raise argparse.ArgumentTypeError(
            f"'{text}' is neither local:N nor a scheduler's address such as tcp://host:8786")
    return text
