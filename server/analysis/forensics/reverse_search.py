"""Reverse image search preparation: hashes and the upload pages for a manual search."""

from __future__ import annotations

from dataclasses import dataclass

from server.analysis.forensics.result import Result

# Upload pages only: the image is never sent anywhere by this service (no network I/O here).
SEARCH_PAGES = {
    "google_lens": "https://lens.google.com/upload",
    "bing_visual_search": "https://www.bing.com/visualsearch",
    "tineye": "https://tineye.com/",
    "yandex_images": "https://yandex.com/images/search?rpt=imageview",
}
INSTRUCTIONS = (
    "Open each page, upload the image, and look for earlier copies: stock photos, social "
    "media profiles or other identity documents showing the same picture."
)


@dataclass
class ReverseSearchResult(Result):
    """What an invigilator needs for a manual reverse image search."""

    md5: str
    sha256: str
    phash: str
    dhash: str
    links: dict[str, str]
    instructions: str


def prepare_reverse_search(md5: str, sha256: str, phash: str, dhash: str) -> ReverseSearchResult:
    """Hashes plus the upload pages of the public reverse image search engines."""
    return ReverseSearchResult(md5, sha256, phash, dhash, dict(SEARCH_PAGES), INSTRUCTIONS)
