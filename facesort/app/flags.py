"""What the command lines' parsers share: a usage error in one line (exit code 2), and a
number type with its bounds."""
from __future__ import annotations

import argparse
from typing import Callable

EXIT_USAGE = 2


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
