"""Files on disk, one module a kind: ``files`` (atomic writes, folders, the lock), ``images``
(PNG and any image read safely), ``encodings`` (the encodings file and the original tool's
pickle). Their names are re-exported here, so ``storage.atomic_write_bytes`` reads as before."""
from facesort.records.face import LEGACY_ENCODER
from facesort.storage.encodings import (
    StoredEncodings,
    load_encodings,
    load_legacy_encodings,
    read_encodings,
    save_encodings,
    valid_encoding,
)
from facesort.storage.files import (
    TEMP_NAME,
    TEMP_PREFIX,
    TEMP_SUFFIX,
    atomic_write_bytes,
    atomic_write_chunks,
    atomic_write_with,
    check_folder,
    lock_exclusively,
    move_without_replacing,
    own_folder,
    remove_temp_files,
    sync_folder,
)
from facesort.storage.images import (
    PNG_PARAMS,
    decode_image,
    encode_png,
    image_size,
    read_image,
    write_image,
)

__all__ = [
    "LEGACY_ENCODER", "PNG_PARAMS", "StoredEncodings", "TEMP_NAME", "TEMP_PREFIX", "TEMP_SUFFIX",
    "atomic_write_bytes", "atomic_write_chunks", "atomic_write_with", "check_folder",
    "decode_image", "encode_png", "image_size", "load_encodings", "load_legacy_encodings",
    "lock_exclusively", "move_without_replacing", "own_folder", "read_encodings",
    "read_image", "remove_temp_files", "save_encodings", "sync_folder", "valid_encoding", "write_image",
]
