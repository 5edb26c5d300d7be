"""The INPUTs (videos, photos, folders, webcams) as one stream of frames."""
