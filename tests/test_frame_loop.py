"""The frame loop (facesort.app.run.sort_frames) with a scripted pipeline: every face drawn on
every frame carries a label, 'unknown' until its track is sorted, then its person's name."""
import numpy as np

from facesort.app.run import sort_frames
from facesort.app.view import StopRequest
from facesort.pipeline.frames import FrameFaces, PipelineStats, TrackedBox
from facesort.records.source import SourceInfo, SourceKind
from facesort.sorting.classifier import NeighbourClassifier
from person_db import PersonDB

INFO = SourceInfo(name="clip.mp4", kind=SourceKind.VIDEO, fps=25.0, frame_count=10, width=64,
                  height=64, stem="clip")


class ScriptedPipeline:
    """Hands out the given FrameFaces, then nothing left to drain."""

    def __init__(self, frames):
        self.frames = frames
        self.stats = PipelineStats()

    def run(self, inputs):
        return iter(self.frames)

    def drain(self):
        return []

    def close(self):
        pass


class Recorder:
    """Stands for the window and the captures folder: keeps the names drawn on each frame."""

    def __init__(self):
        self.drawn = []

    def show(self, found, names, stem, stop):
        self.drawn.append(list(zip([b.box for b in found.boxes], names)))

    def close(self):
        pass


class NoSession:
    def add_faces(self, faces):
        pass


class NoProgress:
    def advance(self, *args):
        pass

    def describe(self, *args):
        pass

    def close(self):
        pass


def frame(index, tracks, new_faces=()):
    return FrameFaces(INFO, index, index / 25, np.zeros((64, 64, 3), np.uint8),
                      [TrackedBox((10, 30 + 20 * t, 30, 10 + 20 * t), t) for t in tracks],
                      list(new_faces), detected_index=index)


def test_every_drawn_face_has_a_label_and_its_name_once_its_track_is_sorted(make_face):
    def face_of(track, index, offset):
        face = make_face(offset)
        face.track_id, face.frame, face.source = track, index, INFO.name
        return face

    frames = [
        frame(0, [1, 2]),                                   # both encodings still in flight
        frame(1, [1, 2], [face_of(1, 0, 0.0), face_of(2, 0, 3.0)]),
        frame(2, [1, 2], [face_of(1, 2, 0.5)]),             # track 1's second look
        frame(3, [1, 2, 3]),                                # track 3: too small to encode
    ]
    output = Recorder()
    summary = sort_frames(ScriptedPipeline(frames), None, NeighbourClassifier(0.44), PersonDB(),
                          NoSession(), output, NoProgress(), StopRequest())
    assert summary.failure is None
    labels = [[name for _, name in drawn] for drawn in output.drawn]
    assert labels == [["unknown", "unknown"],
                      ["unknown", "unknown"],
                      ["person_01", "unknown"],
                      ["person_01", "unknown", "unknown"]]
