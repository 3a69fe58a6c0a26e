#!/usr/bin/env python3
"""Runs python-tuf's ngclient against a repository directory (metadata/ and targets/) and
downloads the named targets, checking each against expected bytes on disk. Exit 0 when python-tuf
accepts everything.

Usage: tuf_ngclient_check.py REPO_DIR TRUSTED_ROOT TARGET_PATH...
"""

import os
import sys
import tempfile
from urllib.parse import unquote, urlparse

from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import Updater
from tuf.ngclient.fetcher import FetcherInterface


class DirFetcher(FetcherInterface):
    """Serves http://repo/<path> from a directory (no network)."""

    def __init__(self, root):
        self.root = root

    def _fetch(self, url):
        path = os.path.join(self.root, unquote(urlparse(url).path.lstrip("/")))
        if not os.path.isfile(path):
            raise DownloadHTTPError(f"not found: {url}", 404)
        with open(path, "rb") as f:
            data = f.read()
        return iter([data])


def main():
    repo, trusted_root, *targets = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        md_dir = os.path.join(tmp, "metadata")
        dl_dir = os.path.join(tmp, "download")
        os.makedirs(md_dir)
        os.makedirs(dl_dir)
        with open(trusted_root, "rb") as f:
            root_bytes = f.read()
        with open(os.path.join(md_dir, "root.json"), "wb") as f:
            f.write(root_bytes)
        updater = Updater(
            metadata_dir=md_dir,
            metadata_base_url="http://repo/metadata/",
            target_base_url="http://repo/targets/",
            target_dir=dl_dir,
            fetcher=DirFetcher(repo),
            bootstrap=root_bytes,
        )
        updater.refresh()
        for path in targets:
            info = updater.get_targetinfo(path)
            if info is None:
                sys.exit(f"python-tuf: target {path} not found")
            got = updater.download_target(info)
            with open(got, "rb") as f:
                data = f.read()
            with open(os.path.join(repo, "targets", path), "rb") as f:
                if f.read() != data:
                    sys.exit(f"python-tuf: {path} differs")
        print(f"python-tuf ngclient accepted {repo} ({len(targets)} targets)")


if __name__ == "__main__":
    main()
