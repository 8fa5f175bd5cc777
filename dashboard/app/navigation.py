"""The app's menu, read from the page registry in dashboard.core.pagemap (one list for every reader)."""

from __future__ import annotations

from dashboard.core.pagemap import DEFAULT_PAGE, PAGES, PageSpec, by_key

__all__ = ["DEFAULT_PAGE", "PAGES", "PageSpec", "by_key"]
