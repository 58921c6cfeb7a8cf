"""Weight sources on 127.0.0.1 for the download tests: one HTTP server that is both a
plain file server (pycls-, OpenMMLab- and authors'-style URLs, as a mirror serves them:
``/<file name>``) and a minimal Hugging Face hub endpoint (``/<repo>/resolve/<rev>/<file>``
with the headers huggingface_hub reads: commit, sha256 ETag, size). It counts the
requests per path, can serve corrupt bytes, and can be stopped (a source that is down)."""
import collections
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = '0123456789abcdef0123456789abcdef01234567'


class Sources:
    def __init__(self):
        self.files = {}           # path -> bytes (what a GET returns)
        self.etags = {}           # path -> sha256 announced (hub files)
        self.requests = collections.Counter()   # (method, path) -> count
        self.corrupt_next = collections.Counter()  # path -> GETs still to corrupt
        handler = self._handler()
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # ---- content
    def add_file(self, name, data):
        """A plain file at ``/<name>`` (a URL source seen through REXNET_MM_MIRROR)."""
        self.files['/' + name] = data

    def add_hub_file(self, repo, filename, data):
        """A hub file, as ``hf_hub_download(repo, filename)`` fetches it."""
        path = f'/{repo}/resolve/main/{filename}'
        self.files[path] = data
        self.etags[path] = hashlib.sha256(data).hexdigest()
        return path

    def gets(self, path):
        return self.requests['GET', path]

    def total(self):
        return sum(self.requests.values())

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # ---- the handler
    def _handler(self):
        sources = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self, body):
                path = self.path.split('?')[0]
                sources.requests[self.command, path] = \
                    sources.requests[self.command, path] + 1
                data = sources.files.get(path)
                if data is None:
                    self.send_response(404)
                    self.send_header('Content-Length', '0')
                    self.send_header('X-Error-Code', 'EntryNotFound')
                    self.end_headers()
                    return
                if body and sources.corrupt_next[path] > 0:
                    sources.corrupt_next[path] -= 1
                    data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
                self.send_response(200)
                self.send_header('Content-Length', str(len(data)))
                self.send_header('Content-Type', 'application/octet-stream')
                if path in sources.etags:
                    etag = sources.etags[path]
                    self.send_header('ETag', f'"{etag}"')
                    self.send_header('X-Linked-Etag', f'"{etag}"')
                    self.send_header('X-Linked-Size', str(len(data)))
                    self.send_header('X-Repo-Commit', COMMIT)
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_HEAD(self):
                self._serve(body=False)

            def do_GET(self):
                self._serve(body=True)

        return Handler
