"""PNG files of any size, written row by row: a 20000x20000 black PNG is 1.2 MB on disk and
1.2 GB as an array, so it cannot be made with cv2.imencode on a numpy array."""
import struct
import zlib
from pathlib import Path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_black_png(path: Path, width: int, height: int) -> Path:
    """An 8-bit RGB PNG, all black, compressed one row at a time (a few MB of memory)."""
    compressor = zlib.compressobj(9)
    row = bytes(1 + 3 * width)  # filter byte 0, then the pixels
    with open(path, "wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n")
        file.write(png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        compressed = b"".join(compressor.compress(row) for _ in range(height))
        file.write(png_chunk(b"IDAT", compressed + compressor.flush()))
        file.write(png_chunk(b"IEND", b""))
    return path
