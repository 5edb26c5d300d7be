"""The roster the sorting rules work on: the persons, the pool of unknown faces, and what the
user sorted before this run. Plain Python and numpy: no OpenCV, no dlib, no disk."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

from facesort.records.face import LEGACY_ENCODER, UNKNOWN_POOL, Face, Person, person_number
from facesort.sorting.person_index import PersonIndex


@dataclass
class TrackSoFar:
    """What a run sorted of one track before its newest face (rule 5)."""

    person: Person | None = None      # where its faces went; None while they wait in the pool
    pooled: list[Face] = field(default_factory=list)  # its faces in the unknown pool


class Roster:
    """All persons and the pool of unknown faces, in memory."""

    def __init__(self) -> None:
        self.persons: list[Person] = []
        self.unknown = Person(UNKNOWN_POOL)
        self.highest_number = 0   # of person_NN names seen: a new person is numbered after it
        # what the user sorted before this run: automatic merges must not undo it
        self.loaded_faces: set[str] = set()
        self.loaded_persons: set[str] = set()
        self.set_aside: set[str] = set()  # face file names the user set aside: never sorted
        self.encoder = LEGACY_ENCODER   # the encoder of every encoding held (a run's, once set)
        self._departures: list[tuple[Face, Person]] = []  # pooled faces taken, and where to
        self.index = PersonIndex()   # the persons' faces as one array, for the look-ups

    def indexed_persons(self) -> PersonIndex:
        """The index, caught up with the persons as they are now."""
        self.index.sync(self.persons)
        return self.index

    def new_person(self, faces: list[Face]) -> Person:
        """A new person_NN, numbered after the highest number seen so far."""
        self.highest_number += 1
        person = Person(f"person_{self.highest_number:02d}")
        person.set_faces(list(faces))
        self.persons.append(person)
        return person

    def add_person(self, person: Person) -> None:
        self.note_name(person.name)
        self.persons.append(person)

    def note_name(self, name: str) -> None:
        """A name in use (a person's, or any entry of the result): new persons never take it."""
        self.highest_number = max(self.highest_number, person_number(name) or 0)

    def merge_persons(self, kept: Person, absorbed: Person) -> None:
        """Move all of ``absorbed``'s faces to ``kept`` (their images move on the next save)."""
        kept.add_faces(absorbed.faces)
        self.persons.remove(absorbed)

    def take_from_pool(self, faces: list[Face], to: Sequence[Person]) -> None:
        """These faces leave the unknown pool, each for its person in ``to``."""
        if faces:
            self.unknown.remove_faces(faces)
            self._departures.extend(zip(faces, to))

    def person_from_pool(self, pooled: list[Face], newest: Face) -> Person:
        """A new person of faces taken from the pool and ``newest``, in that order."""
        person = self.new_person([*pooled, newest])
        self.take_from_pool(pooled, [person] * len(pooled))
        return person

    def departures(self) -> list[tuple[Face, Person]]:
        """The faces taken from the pool since the last call, each with its person."""
        taken, self._departures = self._departures, []
        return taken

    def person_of(self, file_name: str) -> Person | None:
        """The person (or the unknown pool) holding a face of this file name."""
        for person in [*self.persons, self.unknown]:
            if any(f.file_name == file_name for f in person.faces):
                return person
        return None

    def has_saved_face(self, file_name: str) -> bool:
        """Whether a face of this file name was saved by a run (a roster alone saves none)."""
        return False

    def all_faces(self) -> Iterator[tuple[Person, Face]]:
        for person in [*self.persons, self.unknown]:
            for face in person.faces:
                yield person, face

    def snapshot(self) -> RosterSnapshot:
        """The persons and their faces as they are now, apart from the live ones: a save can
        write it while sorting goes on (O(persons + faces) references, no encodings copied)."""
        return RosterSnapshot(
            persons=[copy_of(person) for person in self.persons], unknown=copy_of(self.unknown),
            encoder=self.encoder, set_aside=frozenset(self.set_aside))

    def __repr__(self) -> str:
        known = sum(len(p.faces) for p in self.persons)
        return (f"{len(self.persons)} persons, {known} known faces, "
                f"{len(self.unknown.faces)} unknown faces")


@dataclass(frozen=True)
class RosterSnapshot:
    """A roster frozen at one instant (Roster.snapshot): what a save in the background writes
    while the run goes on adding faces to the live one. The faces are the very records, which
    sorting never changes once found; only the lists holding them are copies."""

    persons: list[Person]
    unknown: Person
    encoder: str
    set_aside: frozenset[str]

    def all_faces(self) -> Iterator[tuple[Person, Face]]:
        for person in [*self.persons, self.unknown]:
            for face in person.faces:
                yield person, face


def copy_of(person: Person) -> Person:
    """A person of the same name, average and faces, in a list of its own."""
    return Person(person.name, list(person.faces), encoding=person.encoding)
