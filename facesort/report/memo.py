"""What report.html was drawn from at the last save, person by person, so that the next save
works again only on what changed: a person's sightings, taken again only for the faces added
since (as they are while a run sorts), or all again when their faces changed otherwise. The
page it gives is the same as one drawn afresh.

Not kept: a person's HTML. Telling that it would come out the same (their appearances, which
another person's new faces in the same video can change) costs about what drawing it does."""
from __future__ import annotations

from dataclasses import dataclass

from facesort.records.face import Face, Person
from facesort.report.appearances import Sighting, person_sightings


@dataclass
class PersonMemo:
    """One person's faces at the last save, and what was drawn from them."""

    faces: list[Face]       # held, so that no other face can take the id of one of them
    ids: tuple[int, ...]    # the faces' ids, in order: compared in one go
    sightings: list[Sighting]


class ReportMemo:
    """The memo of every person of the last save, by name. Faces are the very records, which
    sorting never changes once found, so the same faces in the same order show the same."""

    def __init__(self) -> None:
        self._persons: dict[str, PersonMemo] = {}
        self._used: set[str] = set()

    def sightings(self, person: Person) -> list[Sighting]:
        """The person's sightings (appearances.person_sightings), worked out for the faces
        added since the last save only, when nothing else changed."""
        self._used.add(person.name)
        ids = tuple(map(id, person.faces))
        memo = self._persons.get(person.name)
        if memo is not None and memo.ids == ids:
            return memo.sightings
        if memo is not None and ids[:len(memo.ids)] == memo.ids:  # faces were only added
            added = person_sightings(person.name, person.faces[len(memo.ids):])
            sightings = memo.sightings + added
        else:
            sightings = person_sightings(person.name, person.faces)
        self._persons[person.name] = PersonMemo(list(person.faces), ids, sightings)
        return sightings

    def forget_the_rest(self) -> None:
        """Drop the persons not asked about since the last call (gone, or renamed)."""
        self._persons = {name: memo for name, memo in self._persons.items()
                         if name in self._used}
        self._used = set()
