"""Layers of :class:`PredictiveDensityDisplay`: the interval band and the
highest-density region, drawn on the display's axes.

Each function takes the display, reads its data and sets the artists it draws
as the display's attributes (``interval_band_``, ``interval_lines_``,
``hdr_region_``).
"""

from __future__ import annotations

import numpy as np


def _plot_interval(display, ax, x_grid: np.ndarray, interval_kwargs) -> None:
    """Shade the interval band and draw its bounds as two open lines.

    An outlined ``fill_between`` would close the polygon with vertical
    edges at both ends of the grid; two lines do not.
    """
    display.interval_band_, display.interval_lines_ = None, []
    if display.interval is None:
        return
    interval = np.asarray(display.interval, dtype=np.float64)
    label = "interval"
    if display.coverage is not None:
        label = f"{display.coverage:.0%} interval"
    # A light shade, so the density stays visible inside.
    display.interval_band_ = ax.fill_between(
        x_grid, interval[:, 0], interval[:, 1], color="C1", alpha=0.08, lw=0
    )
    kwargs = {"color": "C1", "linestyle": "--", "linewidth": 1.2}
    kwargs = {**kwargs, **(interval_kwargs or {})}
    for bound, bound_label in zip(interval.T, (label, "_nolegend_")):
        (line,) = ax.plot(x_grid, bound, **{"label": bound_label, **kwargs})
        display.interval_lines_.append(line)


def _plot_hdr(display, ax, x_grid: np.ndarray, y_grid: np.ndarray) -> None:
    """Shade the highest-density region on the density's grid and
    outline it; an empty ``fill_between`` gives it a legend entry."""
    display.hdr_region_ = None
    if display.hdr is None:
        return
    hdr = np.asarray(display.hdr, dtype=np.float64)
    y = y_grid[:, None, None]
    with np.errstate(invalid="ignore"):
        inside = np.any((y >= hdr[None, :, :, 0]) & (y <= hdr[None, :, :, 1]), -1)
    display.hdr_region_ = ax.contourf(
        x_grid,
        y_grid,
        inside.astype(float),
        levels=[0.5, 1.5],
        colors=["C2"],
        alpha=0.18,
    )
    ax.contour(
        x_grid,
        y_grid,
        inside.astype(float),
        levels=[0.5],
        colors=["C2"],
        linewidths=1.0,
    )
    label = "HDR"
    if display.hdr_coverage is not None:
        label = f"{display.hdr_coverage:.0%} HDR"
    ax.fill_between([], [], [], color="C2", alpha=0.3, label=label)
