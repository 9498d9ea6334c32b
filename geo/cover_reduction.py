"""Shrinking a covering problem before it is solved, without changing its optimum.

Demand columns no candidate can change are dropped, columns every candidate treats alike are
merged into one weighted column, and candidates whose coverage is contained in another's are
removed where that cannot change the optimum (see :func:`reduce_cover`); the solvers of
:mod:`geo.siting` then work on the :class:`CoverInstance` left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

#: Candidates compared against all others per sparse product when looking for dominated ones.
DOMINANCE_BLOCK = 1024


@dataclass(frozen=True)
class CoverInstance:
    """A covering problem after shrinking.

    Attributes:
        cover: which reduced demand column each remaining candidate covers, bool (J', M').
        weights: demand weight of each reduced column (M',).
        candidates: original row index of each remaining candidate (J',).
        counts: for backup coverage, how many existing stations cover each column (M',).
    """

    cover: csr_matrix
    weights: np.ndarray
    candidates: np.ndarray
    counts: np.ndarray


def reduce_cover(cover: csr_matrix, weights: np.ndarray, counts: np.ndarray | None = None,
                 drop_dominated: bool = True) -> CoverInstance:
    """Shrink a covering problem without changing its optimum.

    Columns without weight or without any candidate covering them are dropped; columns covered
    by exactly the same candidates (and, with ``counts``, by as many existing stations) are
    merged into one column carrying their summed weight; candidates covering nothing left are
    dropped; with ``drop_dominated``, a candidate whose columns are a subset of another's is
    dropped (of equal candidates the first is kept). Dominance is sound for maximal and set
    covering, where a site whose coverage another contains is never needed; it is not for
    backup coverage, where two overlapping sites can be the point.

    Args:
        cover: J × N sparse matrix, nonzero where candidate j covers demand node i.
        weights: demand weight per node (N,).
        counts: existing stations covering each node (N,), kept apart when merging.
        drop_dominated: remove dominated candidates.

    Returns:
        The reduced instance.
    """
    cover = csr_matrix(cover, dtype=bool)
    cover.eliminate_zeros()
    weights = np.asarray(weights, dtype=np.float64)
    counts = np.zeros(len(weights), np.int64) if counts is None else np.asarray(counts, np.int64)
    used = (weights > 0) & (np.diff(cover.tocsc().indptr) > 0)
    columns = np.nonzero(used)[0]
    by_column = cover[:, columns].T.tocsr()
    groups = _identical_rows(by_column, counts[columns])
    merged_weights = np.bincount(groups, weights=weights[columns])
    first = np.full(len(merged_weights), -1, np.int64)
    first[groups[::-1]] = np.arange(len(groups))[::-1]
    merged = by_column[first].T.tocsr()
    rows = np.nonzero(np.diff(merged.indptr) > 0)[0]
    if drop_dominated:
        rows = _first_of_identical(merged, rows)
        rows = rows[~_dominated(merged[rows])]
    return CoverInstance(cover=merged[rows], weights=merged_weights, candidates=rows,
                         counts=counts[columns][first])


def _identical_rows(matrix: csr_matrix, labels: np.ndarray) -> np.ndarray:
    """Group the rows of a boolean sparse matrix that have the same pattern and label.

    Rows are hashed by two random projections and their label; every group is then checked
    exactly against its first row, and a row that differs (a hash collision) gets a group of
    its own.

    Returns:
        A group number per row, 0 … G−1.
    """
    n_rows, n_cols = matrix.shape
    if n_rows == 0:
        return np.zeros(0, np.int64)
    random = np.random.default_rng(0).random((n_cols, 2))
    pattern = csr_matrix(matrix, dtype=np.float64)
    keys = np.column_stack([pattern @ random, np.diff(pattern.indptr), labels])
    _, first, groups = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    groups = groups.ravel()
    difference = pattern - pattern[first[groups]]
    difference.eliminate_zeros()
    collided = np.diff(difference.indptr) > 0
    groups = np.where(collided, len(first) + np.arange(n_rows), groups)
    return np.unique(groups, return_inverse=True)[1].ravel()


def _first_of_identical(matrix: csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Of ``rows`` of a boolean matrix, the first of each set of identical rows, ascending."""
    groups = _identical_rows(matrix[rows], np.zeros(len(rows), np.int64))
    first = np.full(groups.max() + 1 if len(groups) else 0, len(rows))
    np.minimum.at(first, groups, np.arange(len(rows)))
    return rows[np.sort(first)]


def _dominated(cover: csr_matrix) -> np.ndarray:
    """Which candidates cover a subset of another candidate's columns (of identical candidates,
    all but the first).

    Candidate j is contained in j' when they share as many columns as j has; the shared counts
    come from sparse products of :data:`DOMINANCE_BLOCK` candidates against all.
    """
    pattern = csr_matrix(cover, dtype=np.float64)
    sizes = np.diff(pattern.indptr)
    transposed = pattern.T.tocsc()
    dominated = np.zeros(pattern.shape[0], bool)
    for first in range(0, pattern.shape[0], DOMINANCE_BLOCK):
        shared = (pattern[first:first + DOMINANCE_BLOCK] @ transposed).tocoo()
        row = shared.row + first
        contained = (shared.data == sizes[row]) & (shared.col != row)
        row, col = row[contained], shared.col[contained]
        strict = sizes[col] > sizes[row]
        dominated[row[strict | (col < row)]] = True
    return dominated
