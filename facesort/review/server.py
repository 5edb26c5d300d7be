"""The review's local web server: the page (static files), a JSON API over the result directory,
and the face images.

Safe by default: it listens on 127.0.0.1 only; every API request and every image needs the
random token of the URL it prints (as Jupyter's does), a change only comes as a JSON POST
carrying it, and only face images the last load found inside the result directory are served
(no path from the request is ever opened, no symbolic link is followed).

The result's lock is held only while a change is made (load fresh, change, save, release), as a
run holds it, so a run can start between two changes; while one runs, the page is read-only and
says so, and a review started during a run waits for it to end.
"""
from __future__ import annotations

import hmac
import http.server
import json
import logging
import os
import secrets
import stat
import sys
import threading
import webbrowser
from dataclasses import asdict
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, quote, urlsplit

from facesort.records.distances import distances_of
from facesort.records.face import Face
from facesort.records.source import CAMERA, PHOTO, format_time, source_kind
from facesort.report import suggestions
from facesort.report.terminal import summary_line
from facesort.result.dismissals import read_dismissed
from facesort.review import changes
from facesort.review.thumbnails import Thumbnails
from facesort.sorting.classifier import is_automatic, merge_rank
from person_db import PersonDB

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
STATIC = Path(__file__).resolve().with_name("static")
PAGES = {"/": ("review.html", "text/html; charset=utf-8"),
         "/review.js": ("review.js", "text/javascript; charset=utf-8"),
         "/review.css": ("review.css", "text/css; charset=utf-8")}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".bmp": "image/bmp", ".webp": "image/webp", ".tif": "image/tiff",
               ".tiff": "image/tiff"}
MAX_BODY = 1 << 20  # a change is a few names; a megabyte allows thousands of faces at once
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; script-src 'self'; "
                               "style-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
LOCK_POLICY = ("Each change holds the result's lock only while it is saved, as a run does: a run "
               "may start between two changes, and while one runs this page is read-only.")

EncodeImage = Callable  # image -> encoding, for faces the user added without one


class UnusableResult(Exception):
    """The result directory cannot be locked or read (not writable, damaged): nothing to serve."""


class Review:
    """The review of one result directory: loads it under its lock, makes changes, and keeps
    the last state it loaded (shown while a run holds the lock)."""

    def __init__(self, result_dir: Path, encode_image: EncodeImage | None = None) -> None:
        self.result_dir = result_dir
        self.encode_image = encode_image
        self._lock = threading.Lock()  # one load or change at a time (they share the flock)
        self._state: dict | None = None
        self._images: dict[str, str] = {}  # face file name -> folder it lies in
        self._loads = 0                    # loads so far: the suggestions' generation
        self._asked: tuple | None = None   # what the suggestions of the last load are made of
        self._found: dict | None = None    # and those suggestions, once asked for

    def state(self) -> dict:
        """The result as it is now; the last one loaded, marked busy, while a run holds it."""
        with self._lock:
            return self._load()

    def change(self, change: changes.Change) -> tuple[str, dict]:
        """Make ``change``; returns what was done and the state after it."""
        with self._lock:
            said = changes.apply_change(self.result_dir, change, self.encode_image)
            print(f"review: {said}", flush=True)
            return said, self._load()

    def suggestions(self) -> dict:
        """The suggestions for the result as last loaded, made on first asking: on a library's
        thousand persons they take seconds, and the page shows the persons meanwhile."""
        with self._lock:
            if self._found is None and self._asked is not None:
                persons, unknown, dismissed, distances = self._asked
                found = suggestions.suggest(persons, unknown, dismissed, distances)
                self._found = {kind: [{**asdict(s), "key": s.key} for s in getattr(found, kind)]
                               for kind in ("merges", "unknowns", "misplaced")}
            return {"generation": self._loads, **(self._found or {})}

    def image_folder(self, name: str) -> str | None:
        return self._images.get(name)

    def _load(self) -> dict:
        try:
            with changes.locked(self.result_dir):
                db = changes.load_quietly(self.result_dir, self.encode_image)
                set_aside = changes.set_aside_faces(self.result_dir)
                dismissed = read_dismissed(self.result_dir)
        except changes.ResultBusyError as error:
            return self._read_only(f"{error}. This page waits for it.",
                                   f"{error}. Shown: the result before it began.")
        except (changes.ChangeError, OSError) as error:  # not writable, a damaged journal...
            reason = getattr(error, "strerror", None) or error
            return self._read_only(f"cannot use this result: {reason}",
                                   f"cannot use this result now: {reason}", unusable=True)
        self._state = self._describe(db, set_aside, dismissed)
        return self._state

    def _read_only(self, first_time: str, later: str, unusable: bool = False) -> dict:
        """The last state loaded, if any, with why it cannot be changed now (``unusable``: not
        because a run holds it, which ends; the result cannot be written or read)."""
        if self._state is None:
            return {"busy": first_time, "loaded": False, "result": str(self.result_dir),
                    "lock_policy": LOCK_POLICY, "unusable": unusable}
        return {**self._state, "busy": later}

    def _describe(self, db: PersonDB, set_aside: dict[str, dict], dismissed: set[str]) -> dict:
        images = {}
        persons = sorted((p for p in db.persons if p.faces), key=merge_rank)
        for person in [*persons, db.unknown]:
            for face in person.faces:
                images[face.file_name] = person.name
        for name in set_aside:
            images[name] = changes.SET_ASIDE
        self._images = images
        distances = distances_of(db.encoder)   # those of the encoder of its encodings
        self._loads += 1
        self._asked, self._found = (persons, db.unknown, dismissed, distances), None
        return {
            "loaded": True, "busy": None, "result": str(self.result_dir), "generation": self._loads,
            "summary": summary_line(db), "lock_policy": LOCK_POLICY,
            "threshold": distances.threshold,
            "persons": [{"name": p.name, "automatic": is_automatic(p),
                         "faces": [face_json(f) for f in p.faces]} for p in persons],
            "unknowns": [face_json(f) for f in db.unknown.faces],
            "set_aside": [{**set_aside_json(name, entry), "from": str(entry.get("person", ""))}
                          for name, entry in sorted(set_aside.items())],
        }


def face_json(face: Face) -> dict:
    """A face tile's facts; ``unfit``: why it is not fit to sort (records.face.Unfit), or None."""
    return {"name": face.file_name, "img": image_url(face.file_name), "source": face.source,
            "frame": face.frame, "when": when(face.source, face.time_s), "unfit": face.unfit}


def set_aside_json(name: str, entry: dict) -> dict:
    time_s = entry.get("time_s")
    source = str(entry.get("source") or "")
    return {"name": name, "img": image_url(name), "source": source, "frame": entry.get("frame"),
            "when": when(source, time_s if isinstance(time_s, (int, float)) else None)}


def image_url(name: str) -> str:
    return "/api/face?name=" + quote(name, safe="", errors="surrogateescape")


def when(source: str, time_s: float | None) -> str:
    """"1:02.5" in a video, a date and time for a webcam, nothing for a photo."""
    if time_s is None or not source or source_kind(source) == PHOTO:
        return ""
    return format_time(time_s, wall_clock=source_kind(source) == CAMERA)


class Handler(http.server.BaseHTTPRequestHandler):
    """GET /, /review.js, /review.css: the page; GET /api/state, /api/suggestions, /api/face;
    POST /api/change."""

    server: "ReviewServer"
    protocol_version = "HTTP/1.1"
    server_version = "face-classifier-review"
    sys_version = ""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        log.debug("%s %s", self.address_string(), format % args)

    # --- dispatch ------------------------------------------------------------------------
    def do_GET(self) -> None:
        if not self._host_allowed():
            return
        url = urlsplit(self.path)
        if url.path in PAGES:
            self._send_page(*PAGES[url.path])
        elif url.path in ("/api/state", "/api/suggestions", "/api/face"):
            query = parse_qs(url.query, errors="surrogateescape")
            if not self._token_ok(query.get("token", [""])[0]):
                return
            if url.path == "/api/state":
                self._send_json(200, self.server.review.state())
            elif url.path == "/api/suggestions":
                self._send_json(200, self.server.review.suggestions())
            else:
                self._send_face(query.get("name", [""])[0], thumb="thumb" in query)
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        if not self._host_allowed():
            return
        if urlsplit(self.path).path != "/api/change":
            self._send_json(404, {"error": "not found"})
            return
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.origins:
            self._send_json(403, {"error": "changes come from the review page only"})
            return
        if self.headers.get_content_type() != "application/json":
            self._send_json(415, {"error": "a change is sent as JSON"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send_json(411, {"error": "a change needs its length"})
            return
        if not 0 < length <= MAX_BODY:
            self._send_json(413, {"error": "a change is at most a megabyte"})
            return
        try:
            data = json.loads(self.rfile.read(length))
        except ValueError:
            self._send_json(400, {"error": "not JSON"})
            return
        if not self._token_ok(data.get("token", "") if isinstance(data, dict) else ""):
            return
        try:
            change = changes.change_from_json(data)
            said, state = self.server.review.change(change)
        except changes.ResultBusyError as error:
            self._send_json(409, {"error": str(error), "state": self.server.review.state()})
            return
        except changes.ChangeError as error:
            self._send_json(400, {"error": str(error)})
            return
        self._send_json(200, {"message": said, "state": state})

    # --- checks --------------------------------------------------------------------------
    def _host_allowed(self) -> bool:
        """Only requests addressed to this server by its own name: a web page elsewhere cannot
        reach it through a name of its own pointed at 127.0.0.1 (DNS rebinding)."""
        if self.headers.get("Host", "") in self.server.hosts:
            return True
        self._send_json(403, {"error": "wrong host"})
        return False

    def _token_ok(self, given: object) -> bool:
        if isinstance(given, str) and hmac.compare_digest(given.encode("utf-8", "replace"),
                                                          self.server.token.encode()):
            return True
        self._send_json(403, {"error": "the review's token is missing or wrong: open the URL "
                                       "that face-classifier review printed"})
        return False

    # --- answers -------------------------------------------------------------------------
    def _send_json(self, status: int, data: dict) -> None:
        body = json.dumps(data, ensure_ascii=True).encode("ascii")
        self._send(status, "application/json", body, cache="no-store")

    def _send_page(self, name: str, content_type: str) -> None:
        self._send(200, content_type, (STATIC / name).read_bytes(), cache="no-store")

    def _send_face(self, name: str, thumb: bool = False) -> None:
        """The face image; with ``thumb``, a small JPEG of it (the page's tiles)."""
        data = read_face_image(self.server.review.result_dir, name,
                               self.server.review.image_folder(name))
        if data is None:
            self._send_json(404, {"error": "no such face"})
            return
        small = self.server.thumbnails.of(name, data) if thumb else None
        if small is not None:
            self._send(200, "image/jpeg", small, cache="private, max-age=600")
            return
        content_type = IMAGE_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
        self._send(200, content_type, data, cache="private, max-age=600")

    def _send(self, status: int, content_type: str, body: bytes, cache: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        for header, value in SECURITY_HEADERS.items():
            self.send_header(header, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def read_face_image(result_dir: Path, name: str, folder: str | None) -> bytes | None:
    """The bytes of face ``name`` in ``folder`` of the result; None unless both are plain names
    the last load found, the folder is a real folder right inside the result, and the file a
    regular file in it (a symbolic link anywhere on the way is refused, not followed)."""
    if folder is None or not is_plain(name) or not (is_plain(folder) or folder == changes.SET_ASIDE):
        return None
    if Path(name).suffix.lower() not in IMAGE_TYPES:
        return None
    try:
        folder_fd = os.open(result_dir / folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder_fd)
    except OSError:
        return None
    finally:
        os.close(folder_fd)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        return file.read()


def is_plain(name: str) -> bool:
    """One path component of ours: no separator, not '.' or '..', no NUL."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0")


class ReviewServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, review: Review, port: int = 0, token: str | None = None) -> None:
        super().__init__((HOST, port), Handler)
        self.review = review
        self.thumbnails = Thumbnails()
        self.token = token or secrets.token_urlsafe(32)
        port = self.server_address[1]
        self.hosts = {f"{HOST}:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/?token={self.token}"


def serve(result_dir: Path, port: int = 0, open_browser: bool = False,
          encode_image: EncodeImage | None = None) -> None:
    """Serve the review of ``result_dir`` until Ctrl-C; print its URL first."""
    review = Review(Path(result_dir), encode_image)
    state = review.state()
    if state.get("unusable"):  # as the main command: fail at once, not serve a page that waits
        raise UnusableResult(state["busy"])
    server = ReviewServer(review, port)
    print(f"Reviewing '{result_dir}': {state.get('summary') or 'not loaded yet'}")
    if state.get("busy"):
        print(f"review: {state['busy']}")
    print("Open this page in a browser (Ctrl-C here to stop):", flush=True)
    print(f"    {server.url}", flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("review: stopped", file=sys.stderr)
    finally:
        server.server_close()
