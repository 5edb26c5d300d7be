"""The pipeline's encode queue: faces sent to the workers to be encoded, collected in the
order they were asked for, each with the track id its encoding gives it, and handed out a whole
frame at a time."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from facesort.detection.passes import EncodeJob
from facesort.detection.workers import InlinePool, WorkerPool
from facesort.imaging import crop_face
from facesort.pipeline.frames import PipelineStats
from facesort.pipeline.settings import PipelineSettings
from facesort.pipeline.state import PendingPass, UnfitLook
from facesort.records.box import Box
from facesort.records.face import Face, Unfit, face_file_name
from facesort.records.source import SourceInfo
from facesort.tracking.tracker import Track, TrackBook


@dataclass
class _Encoding:
    """A face asked of a job of the workers, and where its encoding goes when it is back."""

    ticket: int
    slot: int      # its place among the faces of that job
    track: Track
    face: Face
    switch_id: int | None  # the track's id from this face on, should it be someone else
    book: TrackBook        # its input's tracks (the next input's may be read meanwhile)


class EncodeQueue:
    """Encodings asked of the workers, collected in order (at most ``max_encodes_waiting``
    out at once)."""

    def __init__(self, pool: WorkerPool | InlinePool, settings: PipelineSettings,
                 stats: PipelineStats) -> None:
        self._pool = pool
        self.settings = settings
        self.stats = stats
        self._encodings: deque[_Encoding] = deque()
        self._job_results: dict[int, list] = {}   # the encodings of a job whose faces are
                                                   # being collected
        self._ready_faces: list[Face] = []     # encoded while waiting, not yet handed out

    def encode(self, faces: list[tuple[Track, PendingPass, Box, int]], info: SourceInfo,
               book: TrackBook) -> None:
        """Encode faces, each (its track, the pass that found it, its box, its number among
        the faces of that frame), in one job."""
        if not faces:
            return
        self.make_room(len(faces))
        ticket = self._pool.submit(EncodeJob(
            [crop_face(pending.frame, box) for _, pending, box, _ in faces],
            self.settings.mirror_average))
        for slot, (track, pending, box, number) in enumerate(faces):
            face = Face(file_name=face_file_name(info.name, pending.index, number, info.stem),
                        encoding=np.zeros(0), box=box, source=info.name, frame=pending.index,
                        time_s=pending.seconds,  # its image comes back with the encoding
                        followed_from_s=track.followed_since_s)
            track.followed_since_s = pending.seconds
            # a re-encoding may show someone else: the id for that is drawn now, not when the
            # encoding comes back, so that ids do not depend on the workers' timing
            switch_id = book.new_id() if track.times_encoded > 1 else None
            self._encodings.append(_Encoding(ticket, slot, track, face, switch_id, book))
            self.stats.encoded += 1

    def keep_unfit(self, looks: list[tuple[Track, UnfitLook]], info: SourceInfo,
                   book: TrackBook) -> None:
        """One face for each ended track that was never fit to encode: its largest look,
        flagged with why. It is encoded all the same, so that every saved face has its
        encoding, but that encoding is never trusted (records.face.Unfit)."""
        if not looks:
            return
        self.make_room(len(looks))
        ticket = self._pool.submit(EncodeJob([look.crop for _, look in looks],
                                             self.settings.mirror_average))
        for slot, (track, look) in enumerate(looks):
            face = Face(file_name=face_file_name(info.name, look.index, look.number, info.stem),
                        encoding=np.zeros(0), box=look.box, source=info.name, frame=look.index,
                        time_s=look.seconds, track_id=track.track_id,
                        followed_from_s=track.followed_since_s, unfit=look.reason)
            self._encodings.append(_Encoding(ticket, slot, track, face, None, book))
            self.stats.unfit += 1

    def make_room(self, count: int) -> None:
        """Wait for encodings to come back until ``count`` more may be asked for."""
        while self._encodings and (len(self._encodings) + count
                                   > self.settings.max_encodes_waiting):
            self._ready_faces.extend(self.collect(block=True, limit=1))

    def collect(self, block: bool, limit: int | None = None) -> list[Face]:
        """Faces whose encodings are back, in the order they were asked for."""
        faces: list[Face] = []
        while self._encodings and (limit is None or len(faces) < limit):
            head = self._encodings[0]
            job = self._job_results.get(head.ticket)
            if job is None:
                if not block and not self._pool.done(head.ticket):
                    break
                job = self._job_results[head.ticket] = self._pool.result(head.ticket)
            head.face.encoding, head.face.crop_png, clear = job[head.slot]
            if not clear and head.face.unfit is None:
                head.face.unfit = Unfit.UNCLEAR
            if head.slot == len(job) - 1:
                del self._job_results[head.ticket]
            before = head.track.track_id
            if head.face.unfit is None:   # an unfit face's encoding says nothing of its track
                head.face.track_id = head.book.accept_encoding(
                    head.track, head.face.encoding, head.switch_id)
            if head.face.track_id != before:  # someone else now, since when is not known:
                head.face.followed_from_s = head.face.time_s  # not before this face
            self._encodings.popleft()
            faces.append(head.face)
        return faces

    def whole_frames(self, block: bool) -> list[Face]:
        """The faces encoded so far (waiting for them all with ``block``), up to the last
        whole frame: the faces of a frame go out together, as the same-frame rule sorts them
        (two faces of one frame are two people), so a frame whose last faces are still being
        encoded waits."""
        faces = self._ready_faces + self.collect(block=block)
        whole = len(faces)
        if self._encodings:
            waiting = self._encodings[0].face
            while whole and (faces[whole - 1].source, faces[whole - 1].frame) == (
                    waiting.source, waiting.frame):
                whole -= 1
        faces, self._ready_faces = faces[:whole], faces[whole:]
        return faces

    def drain(self) -> list[Face]:
        """Every face still being encoded, waited for, and those not handed out yet."""
        faces = self._ready_faces + self.collect(block=True)
        self._ready_faces = []
        return faces
