"""Clusters from scored pairs: connected components that never join two different people.

Merge edges are taken by descending probability into a union-find that refuses any union putting
two different hard identities of one kind (valid resident ids, valid national ids of one type)
or a cannot-link pair into one cluster, so a chain A~B~C cannot join A and C when their ids
differ. Identities of different kinds never conflict: one person may hold a Spanish NIE and a
Chinese resident ID. Steward must-links go first and override
scores (and ids: the steward has seen the documents), but not a cannot-link.

Most components hold no conflict at all, and for those the greedy order cannot matter, so plain
connected components (scipy) settle them; only the few conflicted components run the Python
union-find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

EMPTY = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component id per node of the undirected graph on n nodes."""
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


class _ConstrainedUnionFind:
    def __init__(
        self, identity: np.ndarray, span: int, cannot_link: tuple[np.ndarray, np.ndarray]
    ) -> None:
        self.parent: dict[int, int] = {}
        self.identities: dict[int, set[int]] = {}
        self.forbidden: dict[int, set[int]] = {}
        self.identity = identity  # kind * span + code, -1 = none
        self.span = span
        for a, b in zip(cannot_link[0].tolist(), cannot_link[1].tolist(), strict=True):
            self.forbidden.setdefault(a, set()).add(b)
            self.forbidden.setdefault(b, set()).add(a)

    def find(self, x: int) -> int:
        if x not in self.parent:
            self.parent[x] = x
            ident = int(self.identity[x])
            self.identities[x] = {ident} if ident >= 0 else set()
            self.forbidden.setdefault(x, set())
            return x
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int, *, check_identity: bool) -> None:
        """Join a's and b's clusters unless a constraint forbids it."""
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        ids_a, ids_b = self.identities[root_a], self.identities[root_b]
        if check_identity and ids_a and ids_b:
            both = ids_a | ids_b
            if len(both) > len({ident // self.span for ident in both}):
                return  # two different identities of one kind
        if any(self.find(x) == root_b for x in self.forbidden[root_a]):
            return
        if len(ids_a) + len(self.forbidden[root_a]) < len(ids_b) + len(self.forbidden[root_b]):
            root_a, root_b = root_b, root_a  # fold the smaller constraint sets into the larger
        self.parent[root_b] = root_a
        self.identities[root_a] |= self.identities.pop(root_b)
        self.forbidden[root_a] |= self.forbidden.pop(root_b)


def _conflicted(
    component: np.ndarray,
    identity: np.ndarray,
    span: int,
    cannot_link: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Component ids holding two different identities of one kind or both ends of a
    cannot-link."""
    has_id = identity >= 0
    distinct = pd.DataFrame(
        {"component": component[has_id], "identity": identity[has_id]}
    ).drop_duplicates()
    per_kind = distinct.groupby([distinct["component"], distinct["identity"] // span]).size()
    bad = np.unique(per_kind.index.get_level_values(0)[per_kind.to_numpy() > 1].to_numpy())
    a, b = cannot_link
    return np.union1d(bad, component[a][component[a] == component[b]])


def cluster(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    *,
    threshold: float,
    identity: np.ndarray | None = None,
    identity_kind: np.ndarray | None = None,
    must_link: tuple[np.ndarray, np.ndarray] = EMPTY,
    cannot_link: tuple[np.ndarray, np.ndarray] = EMPTY,
    rank: np.ndarray | None = None,
) -> np.ndarray:
    """Per record position, the position of its cluster's representative: the member with the
    smallest ``rank`` (default: the smallest position).

    ``identity`` is a per-record code of a hard identifier (-1 = none), ``identity_kind`` its
    kind (default: one kind): records with different codes of one kind never share a cluster
    except through a must-link.
    """
    identity = np.full(n, -1, dtype=np.int64) if identity is None else identity
    span = int(identity.max(initial=0)) + 1
    if identity_kind is not None:
        identity = np.where(identity >= 0, (identity_kind + 1) * span + identity, -1)
    merge = probability >= threshold
    edge_left = np.r_[must_link[0], left[merge]].astype(np.int64)
    edge_right = np.r_[must_link[1], right[merge]].astype(np.int64)
    component = components(n, edge_left, edge_right)

    bad = _conflicted(component, identity, span, cannot_link)
    if len(bad):
        uf = _ConstrainedUnionFind(identity, span, cannot_link)
        in_bad = np.isin(component[must_link[0]], bad)
        for a, b in zip(must_link[0][in_bad].tolist(), must_link[1][in_bad].tolist(), strict=True):
            uf.union(a, b, check_identity=False)
        edges = np.flatnonzero(merge & np.isin(component[left], bad))
        order = edges[np.lexsort((right[edges], left[edges], -probability[edges]))]
        for a, b in zip(left[order].tolist(), right[order].tolist(), strict=True):
            uf.union(a, b, check_identity=True)
        # Each conflicted component splits into the union-find's clusters; a fresh id per root
        # (beyond every component id) keeps them apart.
        members = np.flatnonzero(np.isin(component, bad))
        roots = np.fromiter((uf.find(int(x)) for x in members), dtype=np.int64, count=len(members))
        component = component.copy()
        component[members] = n + roots

    rank = np.arange(n) if rank is None else rank
    first = pd.Series(rank).groupby(component).transform("idxmin")
    return first.to_numpy(dtype=np.int64)
