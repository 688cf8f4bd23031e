"""Messages between simulated nodes.

Kinds (body in brackets):
  get_state  [None]                 ask for predecessor, successor list and
                                    ring nonce (the reply's body, in that order)
  ping       [None]                 are you alive?
  reply      [anything]             answer to a request, matched by `req`
  notify     [None]                 "I think I am your predecessor" (rectify)
  lookup     [Lookup]               one hop of a lookup, acknowledged by reply
  found      [(lid, owner, hops, has_key, pred)]  owner answers the originator;
                                    pred (the owner's predecessor, or None)
                                    gives the range the location cache learns
  push       [list of key ids]      replicas from their owner
  handover   [list of key ids]      keys a new predecessor now holds
  leaving    [(pred, succs)]        graceful leave, sent to both neighbours
  consider   [(peer, ttl)]          ring merging: a node that may belong next
                                    to the receiver (merging.py)
"""
from dataclasses import dataclass


@dataclass(slots=True)
class Msg:
    """One message in flight."""

    kind: str
    """What the message asks or tells, see the module doc."""
    src: int
    """Sender node id."""
    dst: int
    """Receiver node id."""
    req: int = 0
    """Request id for request/reply pairs, 0 for one-way messages."""
    body: object = None
    """Kind-specific payload."""


@dataclass(slots=True)
class Lookup:
    """A lookup travelling hop by hop toward the key's owner."""

    lid: int
    """Lookup id, unique per originator."""
    key: int
    """Key id being looked up."""
    origin: int
    """Node the owner replies to directly."""
    hops: int = 0
    """Messages it took to get here."""
    final: bool = False
    """The receiver owns the key and must not route further."""
    hinted: bool = False
    """Sent to the presumed owner by a location cache's guess (or passed
    back by the hint rule): the receiver routes by routing.hinted_hop."""
