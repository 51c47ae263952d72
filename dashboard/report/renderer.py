"""A warm Chromium for the report's chart: started once per process, on the first report.

``kaleido.calc_fig_sync`` starts a browser per call (7-8 s of a report's time on a two-core
machine); a browser kept open draws the same chart in well under a second. Kaleido 1.x offers one
(``start_sync_server``), but its global server neither serialises callers (Streamlit draws
reports in several threads at once, and its one reply queue could hand one caller another's
chart) nor notices a browser that failed to start (a caller then waits for ever). This is the same
idea with those two answered: one event loop in a daemon thread holds a ``kaleido.Kaleido`` (its
public class) open, callers take turns under a lock and wait with a timeout, and a browser that
has died or fails a chart is closed and started again once before the report says the chart is
unavailable.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from concurrent.futures import TimeoutError as FutureTimeout

import kaleido

log = logging.getLogger(__name__)
START_SECONDS = 60  # a cold Chromium on a loaded two-core machine takes up to ~10 s
DRAW_SECONDS = 60


class RendererFailed(RuntimeError):
    """The browser could not draw the figure, even after a restart."""


class WarmRenderer:
    """One Chromium, driven from one event loop thread, shared by every caller of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._browser: kaleido.Kaleido | None = None
        self._path: str | None = None
        self.starts = 0  # how many browsers this process has started (observable by tests and the bench)

    def png(self, fig, opts: dict, *, path: str) -> bytes:
        """The figure drawn by the warm browser at ``path``; one restart if it fails, then RendererFailed."""
        with self._lock:
            try:
                return self._draw(fig, opts, path)
            except Exception as first:  # noqa: BLE001 - a dead or wedged browser: start a new one, once
                log.warning("the report's browser failed (%s: %s); starting it again", first.__class__.__name__, first)
                self._close()
                try:
                    return self._draw(fig, opts, path)
                except Exception as second:  # noqa: BLE001 - said on the report by the caller
                    self._close()
                    raise RendererFailed(f"{second.__class__.__name__}: {second}") from second

    def browser_pid(self) -> int | None:
        """The warm browser's process id, or None when none is running."""
        process = getattr(self._browser, "subprocess", None)
        return process.pid if process is not None and process.poll() is None else None

    def close(self) -> None:
        with self._lock:
            self._close()

    def _draw(self, fig, opts: dict, path: str) -> bytes:
        if self._path != path or self.browser_pid() is None:
            self._close()
            self._open(path)
        return self._call(self._browser.calc_fig(fig, opts=opts), DRAW_SECONDS)

    def _open(self, path: str) -> None:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="report-chromium", daemon=True)
        thread.start()
        self._loop, self._thread, self._path = loop, thread, path

        async def start() -> kaleido.Kaleido:
            browser = kaleido.Kaleido(path=path, mathjax=False, n=1)
            await browser.open()
            return browser

        self.starts += 1
        self._browser = self._call(start(), START_SECONDS)

    def _call(self, coroutine, seconds: float):
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout=seconds)
        except FutureTimeout:
            future.cancel()
            raise

    def _close(self) -> None:
        browser, loop, thread = self._browser, self._loop, self._thread
        self._browser = self._loop = self._thread = self._path = None
        if loop is None:
            return
        if browser is not None:
            try:
                asyncio.run_coroutine_threadsafe(browser.close(), loop).result(timeout=20)
            except Exception as exc:  # noqa: BLE001 - closing a dead browser may fail; kill what is left
                log.info("closing the report's browser: %s", exc)
                process = getattr(browser, "subprocess", None)
                if process is not None and process.poll() is None:
                    process.kill()
        try:  # choreographer's watchdog and readers end with the loop, not left pending at exit
            asyncio.run_coroutine_threadsafe(_cancel_others(), loop).result(timeout=5)
        except Exception as exc:  # noqa: BLE001 - best effort; the loop stops either way
            log.info("ending the report browser's tasks: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=20)
        if not thread.is_alive():
            loop.close()


async def _cancel_others() -> None:
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


RENDERER = WarmRenderer()
atexit.register(RENDERER.close)
