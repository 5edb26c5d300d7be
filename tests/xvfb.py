"""A virtual X display for tests (Debian's xvfb) and grabs of its screen through libX11, so a
test can look at the -d window as a user would: no screen, no window manager, no extra package."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import shutil
import subprocess
import time

import numpy as np

SCREEN = (1024, 768)
Z_PIXMAP, ALL_PLANES = 2, 0xFFFFFFFF


class XImage(ctypes.Structure):
    """The head of Xlib's XImage, up to the fields read here."""

    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int),
                ("format", ctypes.c_int), ("data", ctypes.c_void_p),
                ("byte_order", ctypes.c_int), ("bitmap_unit", ctypes.c_int),
                ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int),
                ("depth", ctypes.c_int), ("bytes_per_line", ctypes.c_int),
                ("bits_per_pixel", ctypes.c_int)]


def xvfb_available() -> bool:
    return shutil.which("Xvfb") is not None and ctypes.util.find_library("X11") is not None


class VirtualDisplay:
    """Xvfb on a free display number, and grabs of its screen as BGR arrays."""

    def __init__(self, size: tuple[int, int] = SCREEN) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size[0]}x{size[1]}x24",
             "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(write)
        said = b""
        try:  # it writes the number, then a newline: closing the pipe before that kills it
            while not said.endswith(b"\n"):
                if not select.select([read], [], [], 20)[0]:
                    raise RuntimeError("Xvfb did not start")
                chunk = os.read(read, 32)
                if not chunk:
                    raise RuntimeError("Xvfb did not start")
                said += chunk
        finally:
            os.close(read)
        self.name = ":" + said.decode().strip()
        self.size = size
        self._x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
        self._x11.XOpenDisplay.restype = ctypes.c_void_p
        self._x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self._x11.XDefaultRootWindow.restype = ctypes.c_ulong
        self._x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        self._x11.XGetImage.restype = ctypes.POINTER(XImage)
        self._x11.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int,
                                        ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                        ctypes.c_ulong, ctypes.c_int]
        self._x11.XDestroyImage.argtypes = [ctypes.POINTER(XImage)]
        self._x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        for _ in range(50):  # it says its number as it starts listening: a moment more
            self._display = self._x11.XOpenDisplay(self.name.encode())
            if self._display or self.process.poll() is not None:
                break
            time.sleep(0.1)
        if not self._display:
            self.close()
            raise RuntimeError(f"cannot open display {self.name}")
        self._root = self._x11.XDefaultRootWindow(self._display)

    def grab(self) -> np.ndarray:
        """The whole screen now, as a BGR image."""
        width, height = self.size
        image = self._x11.XGetImage(self._display, self._root, 0, 0, width, height,
                                    ALL_PLANES, Z_PIXMAP)
        try:
            head = image.contents
            raw = ctypes.string_at(head.data, head.bytes_per_line * head.height)
            pixels = np.frombuffer(raw, np.uint8).reshape(head.height, head.bytes_per_line)
            return pixels[:, :width * 4].reshape(height, width, 4)[:, :, :3].copy()
        finally:
            self._x11.XDestroyImage(image)

    def close(self) -> None:
        if getattr(self, "_display", None):
            self._x11.XCloseDisplay(self._display)
            self._display = None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
