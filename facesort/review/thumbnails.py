"""Face tiles as small JPEG thumbnails: a face image is a crop three times the face's box, as
PNG (~190 kB on a dev video); the page shows it at 114 px, so a thousand tiles would fetch
~190 MB and most stay blank grey while they come."""
from __future__ import annotations

import threading
from collections import OrderedDict

import cv2
import numpy as np

THUMB_SIDE = 228        # twice the tile's 114 px: sharp on a high-density screen
JPEG_QUALITY = 85
CACHED = 4000           # thumbnails kept (~10 kB each)


class Thumbnails:
    """Thumbnails of face images by name and bytes, the most recent ones cached."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()   # the server answers on several threads

    def of(self, name: str, data: bytes) -> bytes | None:
        """A JPEG of the image ``data`` at most THUMB_SIDE on its longer side; None when the
        bytes are no image (the caller sends them as they are)."""
        key = (name, hash(data))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        thumb = shrink_to_jpeg(data)
        if thumb is not None:
            with self._lock:
                self._cache[key] = thumb
                while len(self._cache) > CACHED:
                    self._cache.popitem(last=False)
        return thumb


def shrink_to_jpeg(data: bytes) -> bytes | None:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    height, width = image.shape[:2]
    scale = THUMB_SIDE / max(height, width)
    if scale < 1:
        image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return encoded.tobytes() if ok else None
