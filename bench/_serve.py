"""Serve one folder over HTTP on 127.0.0.1 at a set rate, as a real link would deliver it.

    python bench/_serve.py DIR PORT [--rate BYTES_PER_SECOND]

A loopback benchmark hides the network: every byte is there at once, so nothing can overlap
with the transfer. This server paces each response's body (64 KiB at a time, on a schedule
from the start of the body), sends Content-Length, a strong ETag and Accept-Ranges, and honours
`Range: bytes=N-`. Without --rate it sends as fast as it can.

A path ending in /select answers as ESMA's FIRDS register does (Solr, wt=json): the docs in the
folder's `select.json` (a list; read at each request), those of the `fq=file_type:TYPE` asked
for, a page of `rows` from `start`, with numFound.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PIECE = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    folder = "."
    rate: float | None = None

    def do_GET(self) -> None:
        if self.path.split("?")[0].endswith("/select"):
            self._select()
            return
        path = os.path.join(self.folder, os.path.basename(self.path.split("?")[0]))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        size = os.path.getsize(path)
        version = hashlib.sha256(f"{path}:{size}:{os.path.getmtime(path)}".encode()).hexdigest()[:16]
        etag = f'"{version}"'
        start = 0
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if wanted and self.headers.get("If-Range", etag) == etag and int(wanted[1]) < size:
            start = int(wanted[1])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(size - start))
        self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        began = time.monotonic()
        sent = 0
        with open(path, "rb") as body:
            body.seek(start)
            while piece := body.read(PIECE):
                if self.rate:
                    delay = began + sent / self.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                try:
                    self.wfile.write(piece)
                except (BrokenPipeError, ConnectionResetError):
                    return
                sent += len(piece)

    def _select(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        start, rows = int(query.get("start", ["0"])[0]), int(query.get("rows", ["10"])[0])
        with open(os.path.join(self.folder, "select.json")) as f:
            docs = json.load(f)
        for wanted in query.get("fq", []):
            if wanted.startswith("file_type:"):
                docs = [doc for doc in docs if doc.get("file_type") == wanted.partition(":")[2]]
        body = json.dumps(
            {"response": {"numFound": len(docs), "start": start, "docs": docs[start : start + rows]}}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("port", type=int)
    parser.add_argument("--rate", type=float, help="bytes per second (default: as fast as possible)")
    args = parser.parse_args()
    Handler.folder, Handler.rate = args.folder, args.rate
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
