"""Latent space use case: 2D maps decoded on a grid, pinned points with neighbours, own images, larger codes."""

from dashboard.latent_space.grid import (
    GRID_SIDE,
    Extent,
    MapGrid,
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

__all__ = ["GRID_SIDE", "MAP_FAMILIES", "NO_PIN", "Directions", "Extent", "MapGrid", "OwnCode", "Pin",
           "PinnedResult", "atlas_psnr", "cell_centres", "cell_of", "central_cells", "decode", "direction_strips",
           "directions", "extent_for", "hole_share", "line_across", "map_grid", "move", "own_code", "parse_pin",
           "pinned", "readable_share", "resample", "slider_ranges"]
