"""Latent space use case: 2D maps decoded on a grid, pinned points with neighbours, own images, larger codes."""

from dashboard.latent_space.grid import (
    GRID_SIDE,
    HOLE_PERCENTILE,
    READABLE_CONFIDENCE,
    Extent,
    MapGrid,
    MapSummary,
    atlas_psnr,
    cell_centres,
    cell_of,
    central_cells,
    decode,
    extent_for,
    hole_share,
    line_across,
    map_grid,
    readable_share,
    summary,
)
from dashboard.latent_space.probe import (
    MAP_FAMILIES,
    NO_PIN,
    Directions,
    OwnCode,
    Pin,
    PinnedResult,
    direction_strips,
    directions,
    move,
    own_code,
    parse_pin,
    pinned,
    resample,
    slider_ranges,
)

__all__ = ["GRID_SIDE", "HOLE_PERCENTILE", "MAP_FAMILIES", "NO_PIN", "READABLE_CONFIDENCE", "Directions", "Extent",
           "MapGrid", "MapSummary", "OwnCode", "Pin", "PinnedResult", "atlas_psnr", "cell_centres", "cell_of",
           "central_cells", "decode", "direction_strips", "directions", "extent_for", "hole_share", "line_across",
           "map_grid", "move", "own_code", "parse_pin", "pinned", "readable_share", "resample", "slider_ranges",
           "summary"]
