"""A package index served on 127.0.0.1 from pure-Python wheels built on the fly,
so resolver tests have exact, offline cases.

It serves the JSON simple API (PEP 691) or, when asked for or forced, the HTML
one (PEP 503), core metadata files (PEP 658/714), yanked flags (PEP 592) and
upload times (PEP 700), and records every request path it receives.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import random
import ssl
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def normalize(name: str) -> str:
    """Returns the PEP 503 form of a project name."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: Optional[str] = None,
    provides_extra: Sequence[str] = (),
    tag: str = "py3-none-any",
    padding: int = 0,
) -> tuple[str, bytes, str]:
    """Builds a wheel with one module (plus `padding` bytes of incompressible
    data, to make it large); returns its file name, bytes and METADATA text."""
    distribution = name.replace("-", "_")
    filename = f"{distribution}-{version}-{tag}.whl"
    dist_info = f"{distribution}-{version}.dist-info"
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in provides_extra]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires_dist]
    metadata = "\n".join(lines) + "\n\nA package built by the skillguard test suite.\n"
    members = {
        f"{distribution}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{distribution}/padding.bin": random.Random(padding).randbytes(padding),
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: skillguard-tests\nRoot-Is-Purelib: true\nTag: {tag}\n".encode(),
    }
    record = "".join(f"{path},{record_hash(data)},{len(data)}\n" for path, data in members.items())
    record += f"{dist_info}/RECORD,,\n"
    members[f"{dist_info}/RECORD"] = record.encode()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
            archive.writestr(info, data)
    return filename, buffer.getvalue(), metadata


@dataclass
class IndexedFile:
    filename: str
    data: bytes
    metadata: Optional[str]
    requires_python: Optional[str] = None
    yanked: Union[bool, str] = False
    upload_time: Optional[str] = None
    listed_sha256: Optional[str] = None

    @property
    def sha256(self) -> str:
        return self.listed_sha256 or hashlib.sha256(self.data).hexdigest()


@dataclass
class LocalIndex:
    """One index; `url` is its simple API root."""

    html_only: bool = False
    cache_control: Optional[str] = None
    etag: bool = False
    ranges: bool = False
    credentials: Optional[tuple[str, str]] = None
    projects: Dict[str, List[IndexedFile]] = field(default_factory=dict)
    requests: List[str] = field(default_factory=list)
    not_modified: int = 0
    bytes_served: Dict[str, int] = field(default_factory=dict)
    url: str = ""

    def add_wheel(
        self,
        name: str,
        version: str,
        *,
        requires_dist: Sequence[str] = (),
        requires_python: Optional[str] = None,
        provides_extra: Sequence[str] = (),
        tag: str = "py3-none-any",
        yanked: Union[bool, str] = False,
        uploaded_days_ago: Optional[float] = None,
        metadata_file: bool = True,
        listed_sha256: Optional[str] = None,
        padding: int = 0,
    ) -> IndexedFile:
        filename, data, metadata = build_wheel(
            name, version, requires_dist=requires_dist, requires_python=requires_python,
            provides_extra=provides_extra, tag=tag, padding=padding,
        )
        upload_time = None
        if uploaded_days_ago is not None:
            moment = datetime.now(timezone.utc) - timedelta(days=uploaded_days_ago)
            upload_time = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        entry = IndexedFile(
            filename, data, metadata if metadata_file else None, requires_python=requires_python,
            yanked=yanked, upload_time=upload_time, listed_sha256=listed_sha256,
        )
        self.projects.setdefault(normalize(name), []).append(entry)
        return entry

    def add_sdist(self, name: str, version: str) -> None:
        filename = f"{name}-{version}.tar.gz"
        self.projects.setdefault(normalize(name), []).append(IndexedFile(filename, b"not a real sdist", None))

    def file(self, filename: str) -> Optional[IndexedFile]:
        for files in self.projects.values():
            for entry in files:
                if entry.filename == filename:
                    return entry
        return None

    def page_json(self, project: str) -> bytes:
        files = []
        for entry in self.projects[project]:
            item: Dict[str, object] = {
                "filename": entry.filename,
                "url": f"../../files/{entry.filename}",
                "hashes": {"sha256": entry.sha256},
                "size": len(entry.data),
                "yanked": entry.yanked,
            }
            if entry.requires_python:
                item["requires-python"] = entry.requires_python
            if entry.metadata is not None:
                item["core-metadata"] = {"sha256": hashlib.sha256(entry.metadata.encode()).hexdigest()}
            if entry.upload_time:
                item["upload-time"] = entry.upload_time
            files.append(item)
        page = {"meta": {"api-version": "1.1"}, "name": project, "files": files, "versions": []}
        return json.dumps(page).encode()

    def page_html(self, project: str) -> bytes:
        anchors = []
        for entry in self.projects[project]:
            attributes = [f'href="../../files/{entry.filename}#sha256={entry.sha256}"']
            if entry.requires_python:
                attributes.append(f'data-requires-python="{html.escape(entry.requires_python)}"')
            if entry.yanked:
                reason = entry.yanked if isinstance(entry.yanked, str) else ""
                attributes.append(f'data-yanked="{html.escape(reason)}"')
            if entry.metadata is not None:
                digest = hashlib.sha256(entry.metadata.encode()).hexdigest()
                attributes.append(f'data-core-metadata="sha256={digest}"')
            anchors.append(f"<a {' '.join(attributes)}>{entry.filename}</a><br/>")
        body = f"<!DOCTYPE html><html><body><h1>Links for {project}</h1>{''.join(anchors)}</body></html>"
        return body.encode()


class Handler(BaseHTTPRequestHandler):
    index: LocalIndex

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class names it
        pass

    def send(self, status: int, body: bytes, content_type: str, headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the base class names it
        index = self.server.index  # type: ignore[attr-defined]
        index.requests.append(self.path)
        if index.credentials is not None:
            token = base64.b64encode(":".join(index.credentials).encode()).decode()
            if self.headers.get("Authorization") != f"Basic {token}":
                self.send(401, b"credentials required", "text/plain", {"WWW-Authenticate": 'Basic realm="test"'})
                return
        parts = [part for part in self.path.split("?")[0].split("/") if part]
        if len(parts) == 2 and parts[0] == "simple":
            project = parts[1]
            if project not in index.projects:
                self.send(404, b"not found", "text/plain")
                return
            wants_json = JSON_TYPE in self.headers.get("Accept", "") and not index.html_only
            body = index.page_json(project) if wants_json else index.page_html(project)
            content_type = JSON_TYPE if wants_json else "text/html"
            headers: Dict[str, str] = {}
            if index.cache_control:
                headers["Cache-Control"] = index.cache_control
            if index.etag:
                tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                headers["ETag"] = tag
                if self.headers.get("If-None-Match") == tag:
                    index.not_modified += 1
                    self.send(304, b"", content_type, headers)
                    return
            self.send(200, body, content_type, headers)
            return
        if len(parts) == 2 and parts[0] == "files":
            filename = parts[1]
            if filename.endswith(".metadata"):
                entry = index.file(filename[: -len(".metadata")])
                if entry is not None and entry.metadata is not None:
                    self.send(200, entry.metadata.encode(), "text/plain")
                    return
            else:
                entry = index.file(filename)
                if entry is not None:
                    self.send_file(index, entry)
                    return
        self.send(404, b"not found", "text/plain")


    def send_file(self, index: LocalIndex, entry: IndexedFile) -> None:
        """Sends a file, or the part a Range header requests when the index supports ranges."""
        data = entry.data
        requested = self.headers.get("Range", "")
        if index.ranges and requested.startswith("bytes="):
            first, _, last = requested[len("bytes="):].partition("-")
            if first == "":
                start, end = max(0, len(data) - int(last)), len(data) - 1
            else:
                start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
            part = data[start : end + 1]
            index.bytes_served[entry.filename] = index.bytes_served.get(entry.filename, 0) + len(part)
            self.send(206, part, "application/octet-stream", {"Content-Range": f"bytes {start}-{end}/{len(data)}"})
            return
        index.bytes_served[entry.filename] = index.bytes_served.get(entry.filename, 0) + len(data)
        self.send(200, data, "application/octet-stream")


class IndexServer:
    """Serves one LocalIndex on an ephemeral port until `close`, over TLS when
    given a certificate chain and key."""

    def __init__(self, index: LocalIndex, tls: Optional[tuple[Path, Path]] = None) -> None:
        self.index = index
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.index = index  # type: ignore[attr-defined]
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        host, port = self.server.server_address[:2]
        index.url = f"{scheme}://{host}:{port}/simple/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def write_wheel(directory: Path, name: str, version: str, **options: object) -> Path:
    """Writes a wheel into a find-links directory and returns its path."""
    filename, data, _ = build_wheel(name, version, **options)  # type: ignore[arg-type]
    path = directory / filename
    path.write_bytes(data)
    return path
