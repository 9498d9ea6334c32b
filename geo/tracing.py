"""Areas traced on a grid: street pieces buffered, as polygons, without a union of buffers.

The distance from the nodes of a square grid to the nearest street piece of an area is computed
exactly where it is within a cell of the buffer (and capped beyond), and the buffer's iso-line is
traced on it by marching squares (``contourpy``). That is the buffer union up to the grid's
resolution, at a fraction of the cost of a GEOS union of tens of thousands of buffers (see
:func:`traced_areas`, and :func:`geo.areas.service_areas` for how close it comes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple, cast

import contourpy
import numpy as np
import shapely

from geo.network import Network
from geo.streets import EdgeLines, Intervals, concat_ranges, piece_coords

if TYPE_CHECKING:
    from contourpy._contourpy import FillReturn_ChunkCombinedOffsetOffset

#: A service area's grid spans at most this many cells a side by default (see
#: :func:`geo.areas.service_areas`), which bounds its memory and time for large areas.
MAX_GRID_SIDE = 2000

#: Most (grid node, street) distances :func:`traced_areas` keeps at once (12 bytes each):
#: stations are taken in batches whose streets fit, each street measured once per batch.
PAIR_BUDGET = 1 << 22

#: About how many (grid node, segment) pairs are measured in one vectorised step.
_PAIR_STEP = 1 << 17

#: Most grid nodes of the canvases areas are traced on (see :class:`_Tiles`) at once, unless
#: one area's grid is larger; 4 bytes each, and 28 while marching squares runs.
CANVAS_CELLS = 1 << 20

#: Nodes a canvas row of area grids fills before the next row starts (see :class:`_Tiles`).
_CANVAS_WIDTH = 1024


def default_cell(buffer_m: float, extent_m: float) -> float:
    """The grid spacing areas are traced on by default: half the buffer, or coarser where the
    largest area spans more than :data:`MAX_GRID_SIDE` half-buffers (``extent_m`` metres)."""
    return max(buffer_m / 2.0, extent_m / MAX_GRID_SIDE)


def extents(network: Network, area: np.ndarray, node: np.ndarray) -> np.ndarray:
    """The larger side of each area's bounding box of its nodes, metres; ``area`` (ascending,
    from 0, none skipped) and ``node`` pair them."""
    if len(node) == 0:
        return np.zeros(0)
    xy = network.node_xy[node]
    first = np.flatnonzero(np.diff(area, prepend=-1))
    return (np.maximum.reduceat(xy, first) - np.minimum.reduceat(xy, first)).max(axis=1)


def traced_areas(edge_lines: EdgeLines, part_area: np.ndarray, part_edge: np.ndarray,
                  parts: Intervals, area_xy: np.ndarray, buffer_m: float,
                  cell_m: float) -> np.ndarray:
    """Each area's street pieces buffered by ``buffer_m``, traced on a ``cell_m`` grid: a
    station's service area (its reached pieces) or a gap (its uncovered pieces).

    Distances are measured from the nodes of one grid over the network, ``origin + (i, j) *
    cell_m``, to street segments within ``cap = buffer_m + cell_m``, once per batch of areas
    (areas in order of x, batched so that the batch's distances fit :data:`PAIR_BUDGET`): a
    street that areas of the batch hold whole is measured once for all of them (service areas
    overlap; gaps share no street), a cut piece for its own area. An area's grid spans its
    segments' boxes widened by the cap, filled with the cap and lowered to the distances
    measured; marching squares on it give the area. A
    node beyond the cap has no neighbour within ``buffer_m`` (distance changes by at most a cell
    between neighbours), so the capped nodes never bear on the outline. The grids of a batch's
    areas are laid side by side on canvases of up to :data:`CANVAS_CELLS` nodes (see
    :class:`_Tiles`), each lowered and traced in one pass, so that a city's thousands of small
    gaps cost a few whole-array steps rather than a few steps each.

    Args:
        edge_lines: the network's edge shapes in UTM.
        part_area, part_edge: area (ascending) and street edge of each part.
        parts: the parts' intervals along their edges.
        area_xy: a position of each area (S, 2), UTM; only orders the batches.
        buffer_m: the buffer distance, metres.
        cell_m: the grid spacing, metres.

    Returns:
        One Polygon or MultiPolygon per area (S,), empty for an area without parts.
    """
    count = len(area_xy)
    grid = _Grid(edge_lines.xy.min(axis=0) if len(edge_lines.xy) else np.zeros(2), cell_m,
                 buffer_m + cell_m, buffer_m)
    # What is measured: each street some area holds whole, once, and each cut piece.
    whole = (parts.start <= 0.0) & (parts.end >= 1.0)
    shared, unit_of_whole = np.unique(part_edge[whole], return_inverse=True)
    cut = np.nonzero(~whole)[0]
    unit_of_part = np.empty(len(part_edge), dtype=np.int64)
    unit_of_part[whole] = unit_of_whole
    unit_of_part[cut] = len(shared) + np.arange(len(cut))
    units = len(shared) + len(cut)
    xy, unit = piece_coords(edge_lines, np.concatenate([shared, part_edge[cut]]),
                             np.concatenate([np.zeros(len(shared)), parts.start[cut]]),
                             np.concatenate([np.ones(len(shared)), parts.end[cut]]))
    joined = unit[1:] == unit[:-1]
    seg_a, seg_b, seg_unit = _split_segments(xy[:-1][joined], xy[1:][joined],
                                             unit[:-1][joined], grid.chunk_m)
    seg_lo, seg_hi = grid.boxes(seg_a, seg_b)
    seg_ptr = np.searchsorted(seg_unit, np.arange(units + 1))
    cost = np.bincount(seg_unit, np.prod(seg_hi - seg_lo + 1, axis=1), minlength=units)
    has_segments = seg_ptr[:-1] < seg_ptr[1:]
    unit_lo = np.full((units, 2), np.iinfo(np.int64).max)
    unit_hi = np.full((units, 2), np.iinfo(np.int64).min)
    unit_lo[has_segments] = np.minimum.reduceat(seg_lo, seg_ptr[:-1][has_segments])
    unit_hi[has_segments] = np.maximum.reduceat(seg_hi, seg_ptr[:-1][has_segments])
    # Each area's units and the box of its grid's nodes (lo > hi for one without segments).
    area_ptr = np.searchsorted(part_area, np.arange(count + 1))
    units_of = [unit_of_part[area_ptr[s]:area_ptr[s + 1]] for s in range(count)]
    area_lo = np.full((count, 2), np.iinfo(np.int64).max)
    area_hi = np.full((count, 2), np.iinfo(np.int64).min)
    held = area_ptr[:-1] < area_ptr[1:]
    area_lo[held] = np.minimum.reduceat(unit_lo[unit_of_part], area_ptr[:-1][held])
    area_hi[held] = np.maximum.reduceat(unit_hi[unit_of_part], area_ptr[:-1][held])
    out = np.full(count, shapely.Polygon(), dtype=object)

    def trace(areas: np.ndarray, lower) -> None:
        """Trace ``areas`` on canvases, each lowered by ``lower(tiles, canvas)``."""
        sizes = np.prod(area_hi[areas] - area_lo[areas] + 3, axis=1)
        for chunk in _chunks(sizes, CANVAS_CELLS):
            tiles = _Tiles.pack(areas[chunk], area_lo[areas[chunk]], area_hi[areas[chunk]])
            canvas = np.full(tiles.shape, grid.cap, dtype=np.float32)
            lower(tiles, canvas)
            polygons, tile = _trace(canvas, tiles, grid, buffer_m)
            _gather(out, tiles.area, polygons, tile)

    def measured(members: np.ndarray):
        """A lowering from the distances of ``members``' streets, measured once."""
        a, b, owner = _segments_of(seg_a, seg_b, seg_ptr, members)
        counts, gx, gy, dist = _near_nodes(a, b, grid)
        pair_ptr = np.zeros(len(members) + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, counts, minlength=len(members)), out=pair_ptr[1:])

        def lower(tiles: _Tiles, canvas: np.ndarray) -> None:
            mine = [units_of[s] for s in tiles.area.tolist()]
            local = np.searchsorted(members, np.concatenate(mine))
            tile = np.repeat(np.arange(len(mine)), [len(m) for m in mine])
            for chunk in _chunks(pair_ptr[local + 1] - pair_ptr[local], PAIR_BUDGET):
                first, last = pair_ptr[local[chunk]], pair_ptr[local[chunk] + 1]
                take = concat_ranges(first, last)
                tiles.lower(canvas, np.repeat(tiles.shift[tile[chunk]], last - first),
                            gx[take], gy[take], dist[take])
        return lower

    def measuring(s: int):
        """A lowering that measures area ``s``'s streets as it goes (a batch of one area)."""
        def lower(tiles: _Tiles, canvas: np.ndarray) -> None:
            for chunk in _chunks(cost[units_of[s]], PAIR_BUDGET):
                a, b, _ = _segments_of(seg_a, seg_b, seg_ptr, units_of[s][chunk])
                _, gx, gy, dist = _near_nodes(a, b, grid)
                tiles.lower(canvas, tiles.shift[0], gx, gy, dist)
        return lower

    order = np.argsort(area_xy[:, 0], kind="stable")
    for areas, members in _area_batches(order, units_of, cost, PAIR_BUDGET):
        batch = np.array(areas)
        batch = batch[(area_lo[batch] <= area_hi[batch]).all(axis=1)]
        if len(batch) == 0:
            continue
        if cost[members].sum() > PAIR_BUDGET:
            for s in batch.tolist():
                trace(np.array([s]), measuring(s))
        else:
            trace(batch, measured(members))
    return out


def _area_batches(order: np.ndarray, streets_of: list[np.ndarray], cost: np.ndarray,
                     budget: float) -> Iterator[tuple[list[int], np.ndarray]]:
    """Group areas, taken in ``order``, into batches whose streets cost at most ``budget``
    (an area over the budget on its own is a batch of one).

    Args:
        order: the areas in the order to take them.
        streets_of: each area's streets (indices into ``cost``).
        cost: what measuring each street costs.
        budget: the most a batch may cost.

    Yields:
        Each batch's areas and the streets of any of them (ascending).
    """
    in_batch = np.zeros(len(cost), dtype=bool)
    batch: list[int] = []
    spent = 0.0
    for s in order.tolist():
        new = streets_of[s][~in_batch[streets_of[s]]]
        added = float(cost[new].sum())
        if batch and spent + added > budget:
            yield batch, np.nonzero(in_batch)[0]
            in_batch[:] = False
            batch, spent = [], 0.0
            new, added = streets_of[s], float(cost[streets_of[s]].sum())
        in_batch[new] = True
        spent += added
        batch.append(s)
    if batch:
        yield batch, np.nonzero(in_batch)[0]


class _Grid(NamedTuple):
    """The grid service areas are traced on: nodes at ``origin + (i, j) * cell_m``.

    Attributes:
        origin: the position of node (0, 0), UTM.
        cell_m: the spacing, metres.
        cap: distances are measured up to this, and nodes further away hold it.
        level: the buffer distance, the outline's level.
    """

    origin: np.ndarray
    cell_m: float
    cap: float
    level: float

    @property
    def chunk_m(self) -> float:
        """Segments are cut to this length: long enough that few nodes are measured twice for
        one street, short enough that a diagonal segment's box holds few nodes out of reach."""
        return 4.0 * self.cell_m

    @property
    def hair(self) -> float:
        """Distances this close to the level are moved out by it, so that no node lies on the
        outline."""
        return 1e-6 * max(self.cell_m, self.level)

    def boxes(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first and last node (column, row) within the cap's box around each segment."""
        lo = np.ceil((np.minimum(a, b) - self.cap - self.origin) / self.cell_m)
        hi = np.floor((np.maximum(a, b) + self.cap - self.origin) / self.cell_m)
        return lo.astype(np.int64), hi.astype(np.int64)


class _Tiles(NamedTuple):
    """Areas' grids laid side by side on one canvas, each its nodes ``lo - 1`` to ``hi + 1``
    (a border of nodes at the cap around its box), in rows of about :data:`_CANVAS_WIDTH`
    nodes.

    Attributes:
        area: the area of each tile (K,).
        lo: each area's first node in its box, grid (column, row) (K, 2).
        at: where each tile's first node (``lo - 1``) lies on the canvas (column, row) (K, 2).
        key: each tile's position in the canvas's reading order, ``row of tiles * width +
            column`` (K,), increasing.
        shelf_row: the first canvas row of each row of tiles, increasing.
        shape: the canvas's (rows, columns).
    """

    area: np.ndarray
    lo: np.ndarray
    at: np.ndarray
    key: np.ndarray
    shelf_row: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def pack(cls, area: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> _Tiles:
        """Lay the grids of ``area`` (boxes ``lo`` to ``hi``) in rows, in order: a row takes
        the tiles that begin within its first :data:`_CANVAS_WIDTH` columns, and the canvas is
        as wide as its widest row."""
        size = hi - lo + 3
        start = np.cumsum(size[:, 0]) - size[:, 0]
        shelf = start // _CANVAS_WIDTH
        first = np.flatnonzero(np.diff(shelf, prepend=-1))
        rank = np.cumsum(np.diff(shelf, prepend=-1) > 0) - 1
        height = np.maximum.reduceat(size[:, 1], first)
        shelf_row = np.cumsum(height) - height
        column = start - shelf * _CANVAS_WIDTH
        width = int((column + size[:, 0]).max())
        at = np.column_stack([column, shelf_row[rank]])
        return cls(area, lo, at, rank * width + column, shelf_row,
                   (int(height.sum()), width))

    @property
    def shift(self) -> np.ndarray:
        """What turns a grid node's ``row * width + column`` (``width`` the canvas's) into its
        place on the canvas, in each tile (K,)."""
        return (self.at[:, 1] - self.lo[:, 1] + 1) * self.shape[1] + self.at[:, 0] \
            - self.lo[:, 0] + 1

    def lower(self, canvas: np.ndarray, shift: np.ndarray | int, gx: np.ndarray,
              gy: np.ndarray, dist: np.ndarray) -> None:
        """Lower the canvas to the distances ``dist`` at grid nodes (gx, gy) of tiles whose
        :attr:`shift` is ``shift``."""
        np.minimum.at(canvas.ravel(), gy.astype(np.int64) * self.shape[1] + gx + shift, dist)

    def find(self, xy: np.ndarray) -> np.ndarray:
        """The tile holding each canvas point (column, row) (P, 2) (P,)."""
        rank = np.searchsorted(self.shelf_row, np.floor(xy[:, 1]), side="right") - 1
        return np.searchsorted(self.key, rank * self.shape[1] + xy[:, 0], side="right") - 1


def _segments_of(a: np.ndarray, b: np.ndarray, ptr: np.ndarray, groups: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segments of ``groups`` (``ptr`` delimits each group's), and the position in
    ``groups`` of each."""
    take = concat_ranges(ptr[groups], ptr[groups + 1])
    return a[take], b[take], np.repeat(np.arange(len(groups)), ptr[groups + 1] - ptr[groups])


def _chunks(sizes: np.ndarray, budget: float) -> list[slice]:
    """Consecutive slices of ``sizes`` each summing to at most ``budget`` (or one item)."""
    ends = np.cumsum(sizes)
    bounds = [0]
    while bounds[-1] < len(sizes):
        spent = ends[bounds[-1] - 1] if bounds[-1] > 0 else 0
        bounds.append(max(int(np.searchsorted(ends, spent + budget, side="right")),
                          bounds[-1] + 1))
    return [slice(first, last) for first, last in zip(bounds[:-1], bounds[1:])]


def _split_segments(a: np.ndarray, b: np.ndarray, owner: np.ndarray, max_m: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut segments longer than ``max_m`` into equal parts no longer than it (order kept)."""
    parts = np.maximum(np.ceil(np.hypot(*(b - a).T) / max_m), 1).astype(np.int64)
    segment = np.repeat(np.arange(len(a)), parts)
    k = np.arange(len(segment)) - np.repeat(np.cumsum(parts) - parts, parts)
    step = (b - a)[segment] / parts[segment, None]
    start = a[segment] + k[:, None] * step
    return start, start + step, owner[segment]


def _near_nodes(a: np.ndarray, b: np.ndarray, grid: _Grid
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every grid node within the grid's cap of each segment a-b, and its distance to it.

    Segments are taken in runs of about :data:`_PAIR_STEP` nodes; each run scans one window of
    nodes per segment, as wide and high as the run's largest box (:meth:`_Grid.boxes`), from the
    segment's box corner, as (segment, row, column) arrays, so that the arithmetic is whole-array
    (nodes beyond a segment's own box are simply beyond the cap) and stays within a few hundred
    metres of zero, where float32 is good to about 0.1 mm, far below the grid's resolution, at
    half the memory traffic. Distances within :attr:`_Grid.hair` of the level are moved out by
    it.

    Returns:
        How many nodes each segment has within the cap (K,), and for each of those (segment,
        node) pairs, in segment order, the node's grid column and row (int32) and its distance
        (float32).
    """
    cell_m, cap = grid.cell_m, grid.cap
    lo, hi = grid.boxes(a, b)
    size = np.maximum(hi - lo + 1, 0)
    corner = (grid.origin + lo * cell_m - a).astype(np.float32)  # the box's first node, from a
    span = b - a
    length2 = np.einsum("ij,ij->i", span, span)
    inverse = np.divide(1.0, length2, out=np.zeros(len(a)), where=length2 > 0).astype(np.float32)
    span = span.astype(np.float32)
    step = np.float32(cell_m)
    counts = np.zeros(len(a), dtype=np.int64)
    gx, gy = [np.zeros(0, np.int32)], [np.zeros(0, np.int32)]
    dists = [np.zeros(0, np.float32)]
    ends = np.cumsum(size[:, 0] * size[:, 1])
    total = int(ends[-1]) if len(ends) else 0
    cuts = np.searchsorted(ends, np.arange(_PAIR_STEP, total, _PAIR_STEP), side="right")
    for first, last in zip(np.r_[0, cuts], np.r_[cuts, len(a)]):
        if last <= first:
            continue
        run = slice(first, last)
        nx, ny = size[run].max(axis=0).tolist()
        sx, sy = span[run, 0, None, None], span[run, 1, None, None]
        px = corner[run, 0, None, None] + np.arange(nx, dtype=np.float32) * step  # (k, 1, nx)
        py = corner[run, 1, None, None] + np.arange(ny, dtype=np.float32)[:, None] * step
        t = px * sx + py * sy
        t *= inverse[run, None, None]
        np.clip(t, 0.0, 1.0, out=t)
        dx = px - t * sx
        dy = py - t * sy
        dx *= dx
        dy *= dy
        dx += dy
        near = np.flatnonzero(dx <= cap * cap)
        segment, at = np.divmod(near, nx * ny)
        row, col = np.divmod(at, nx)
        counts[run] = np.bincount(segment, minlength=last - first)
        segment += first
        gx.append((lo[segment, 0] + col).astype(np.int32))
        gy.append((lo[segment, 1] + row).astype(np.int32))
        dists.append(np.sqrt(dx.ravel()[near]))
    dist = np.concatenate(dists)
    dist[np.abs(dist - grid.level) < grid.hair] = grid.level + grid.hair
    return counts, np.concatenate(gx), np.concatenate(gy), dist


def _trace(canvas: np.ndarray, tiles: _Tiles, grid: _Grid, level: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """The regions where ``canvas`` (tiles of area grids, rows along y) is at most ``level``,
    as polygons in UTM, with the tile of each; every tile's border must lie above ``level``.

    Vertices in a straight line with their neighbours (within 1e-5 of a cell: the outline along
    a straight street) are dropped.

    Returns:
        The polygons, each within one tile, in the canvas's reading order, and their tiles.
    """
    rows, columns = canvas.shape
    x, y = np.meshgrid(np.arange(columns, dtype=np.float64), np.arange(rows, dtype=np.float64))
    generator = contourpy.SerialContourGenerator(
        # no mask; contourpy's stub asks for an array where the generator takes None
        x, y, canvas.astype(np.float64), None,  # type: ignore[arg-type]
        corner_mask=True,
        line_type=contourpy.LineType.Separate,
        fill_type=contourpy.FillType.ChunkCombinedOffsetOffset, quad_as_tri=False,
        z_interp=contourpy.ZInterp.Linear)
    filled = cast("FillReturn_ChunkCombinedOffsetOffset", generator.filled(-np.inf, level))
    (points,), (ring_offsets,), (outer_offsets,) = filled  # one chunk, of fill_type's shape
    if points is None or ring_offsets is None or outer_offsets is None:  # None together
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    ring_offsets = ring_offsets.astype(np.int64)
    outer_offsets = outer_offsets.astype(np.int64)
    tile = tiles.find(points[ring_offsets[outer_offsets[:-1]]])
    point_tile = np.repeat(tile, np.diff(ring_offsets[outer_offsets]))
    keep = _turning_vertices(points, ring_offsets)
    ring = np.repeat(np.arange(len(ring_offsets) - 1), np.diff(ring_offsets))[keep]
    origin = grid.origin + (tiles.lo - 1) * grid.cell_m
    at = point_tile[keep]
    rings = shapely.linearrings((points[keep] - tiles.at[at]) * grid.cell_m + origin[at],
                                indices=ring)
    polygons = shapely.polygons(rings, indices=np.repeat(np.arange(len(outer_offsets) - 1),
                                                         np.diff(outer_offsets)))
    return polygons, tile


def _gather(out: np.ndarray, area: np.ndarray, polygons: np.ndarray, tile: np.ndarray) -> None:
    """Set ``out`` of each tile's area to its polygons: one Polygon, or a MultiPolygon of
    several in their order (tiles without polygons are left as they are)."""
    order = np.argsort(tile, kind="stable")
    tile, polygons = tile[order], polygons[order]
    owner, first, count = np.unique(tile, return_index=True, return_counts=True)
    single = count == 1
    out[area[owner[single]]] = polygons[first[single]]
    several = np.repeat(~single, count)
    if several.any():
        out[area[owner[~single]]] = shapely.multipolygons(
            polygons[several], indices=np.repeat(np.arange(int((~single).sum())),
                                                 count[~single]))


def _turning_vertices(points: np.ndarray, ring_offsets: np.ndarray,
                      tolerance: float = 1e-5) -> np.ndarray:
    """Which vertices of closed rings (each ending on its first point) to keep: those further
    than ``tolerance`` from the line through their two neighbours, or turning back.

    The closing point of every ring is dropped (a ring is closed again when it is made).
    """
    starts, stops = ring_offsets[:-1], ring_offsets[1:] - 1  # stops: each ring's closing point
    step = np.diff(points, axis=0)  # step[i]: from point i to point i + 1
    into = np.empty_like(points)
    into[1:] = step
    into[starts] = step[stops - 1]
    out_of = np.empty_like(points)
    out_of[:-1] = step
    out_of[-1] = step[-1]
    cross = into[:, 0] * out_of[:, 1] - into[:, 1] * out_of[:, 0]
    chord = into + out_of
    keep = cross * cross > tolerance * tolerance * np.einsum("ij,ij->i", chord, chord)
    keep |= np.einsum("ij,ij->i", into, out_of) < 0
    keep[stops] = False
    # A ring too small to tell its turns from noise keeps every vertex.
    kept = np.add.reduceat(keep, starts)
    if (kept < 3).any():
        ring = np.repeat(np.arange(len(starts)), stops - starts + 1)
        keep |= (kept < 3)[ring]
        keep[stops] = False
    return keep

