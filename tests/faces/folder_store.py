"""A test-only Beam filesystem, ``teststore://``, backed by a local folder and behaving
like an object store (no folders; an object appears whole when its upload is closed)."""

import os
import shutil
import tempfile
from pathlib import Path

from apache_beam.io.filesystem import BeamIOError, FileMetadata, FileSystem

SCHEME = "teststore"


class FolderStore(FileSystem):
    """``teststore://a/b`` is ``FolderStore.root / "a/b"``; set ``root`` before use."""

    root: Path = Path(tempfile.gettempdir())

    @classmethod
    def scheme(cls):
        return SCHEME

    @classmethod
    def local(cls, url: str) -> Path:
        prefix = f"{SCHEME}://"
        if not url.startswith(prefix):
            raise ValueError(f"not a {SCHEME} URL: {url}")
        return cls.root / url[len(prefix):]

    @classmethod
    def url(cls, path: Path) -> str:
        return f"{SCHEME}://{Path(path).relative_to(cls.root).as_posix()}"

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/"), *[p.strip("/") for p in paths]])

    def split(self, path):
        head, _, tail = path.rstrip("/").rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass  # objects need no folders

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        for folder, _, files in os.walk(self.root):
            for name in files:
                path = Path(folder) / name
                if ".upload-" in name:
                    continue  # an upload in progress is not an object yet
                url = self.url(path)
                if url.startswith(dir_or_prefix):
                    yield FileMetadata(url, path.stat().st_size, path.stat().st_mtime)

    def create(self, path, mime_type="application/octet-stream", compression_type=None):
        return _Upload(self.local(path))

    def open(self, path, mime_type="application/octet-stream", compression_type=None):
        return open(self.local(path), "rb")

    def copy(self, source_file_names, destination_file_names):
        for source, destination in zip(source_file_names, destination_file_names):
            self.local(destination).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.local(source), self.local(destination))

    def rename(self, source_file_names, destination_file_names):
        self.copy(source_file_names, destination_file_names)
        self.delete(source_file_names)

    def exists(self, path):
        return self.local(path).is_file()

    def size(self, path):
        return self.local(path).stat().st_size

    def last_updated(self, path):
        return self.local(path).stat().st_mtime

    def metadata(self, path):
        return FileMetadata(path, self.size(path), self.last_updated(path))

    def delete(self, paths):
        errors = {}
        for url in paths:
            local = self.local(url)
            if local.is_file():
                local.unlink()
            elif local.is_dir():  # a prefix: every object below it
                shutil.rmtree(local)
            else:
                errors[url] = FileNotFoundError(url)
        if errors:
            raise BeamIOError("Delete operation failed", errors)


class _Upload:
    """A write that becomes the object only on ``close`` (as on Cloud Storage or S3)."""

    def __init__(self, final: Path):
        final.parent.mkdir(parents=True, exist_ok=True)
        self.final = final
        self.partial = final.with_name(f"{final.name}.upload-{os.getpid()}")
        self.handle = open(self.partial, "wb")

    def write(self, data):
        return self.handle.write(data)

    def close(self):
        if not self.handle.closed:
            self.handle.close()
            os.replace(self.partial, self.final)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
