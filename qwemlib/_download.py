"""A pooch downloader that resumes an interrupted http(s) download (private; the bottom layer).

pooch retries a failed download from the first byte; on a slow or flaky link (the
evaluation archives, a mirror of the corpus shards) :func:`resuming_download` keeps what
each try delivered and asks the server for the rest.

Used by: :func:`qwemlib.data.path` (every download), tests/test_faults_data.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["resuming_download"]


def resuming_download(url: str, output_file, pooch_obj, check_only: bool = False):
    """pooch downloader for http(s) that resumes: what a dropped connection delivered is kept in
    ``<name>.part`` beside the download, and the next try (pooch retries) asks only for the rest
    with an HTTP ``Range`` request; a server that ignores it (status 200) is read from the start."""
    import requests

    if check_only:
        return requests.head(url, allow_redirects=True, timeout=30).ok
    part = Path(pooch_obj.abspath) / (url.rsplit("/", 1)[-1] + ".part")
    have = part.stat().st_size if part.exists() else 0
    with requests.get(url, stream=True, timeout=60,
                      headers={"Range": f"bytes={have}-"} if have else {}) as resp:
        if resp.status_code == 416:          # the .part is complete or stale: start afresh
            part.unlink()
            raise ValueError(f"{url}: the partial download {part} did not fit; starting again")
        resp.raise_for_status()
        # keep every byte of a short read (urllib3 would drop the last block), check the length here
        resp.raw.enforce_content_length = False
        expected = -1 if "Content-Encoding" in resp.headers else int(resp.headers.get("Content-Length", -1))
        got = 0
        with open(part, "ab" if have and resp.status_code == 206 else "wb") as fh:
            for chunk in resp.iter_content(1 << 16):
                fh.write(chunk)
                got += len(chunk)
    if got < expected:
        raise ValueError(f"{url}: the connection closed after {got:,} of {expected:,} bytes; the next "
                         f"try resumes from {part}")
    shutil.move(str(part), str(output_file))
