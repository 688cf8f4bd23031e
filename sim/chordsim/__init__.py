"""chordsim: a discrete-event simulator of the project's Chord protocol.

Pieces, bottom up:
- ids, interval: 160-bit SHA-1 ids and modular interval tests.
- ring, static: a stable ring computed from sorted ids (the truth).
- routing: the pure next-hop rule shared by everything.
- scheduler, network, message: events by (time, serial), named network
  models, message types.
- node, maintenance, lookup, storage: one node running Zave's corrected
  ring maintenance, hop-by-hop lookups and successor replication.
- passive, merging: the Rust node's passive list and the probes that merge
  the rings a partition left.
- sim: the world (nodes, clock, network, who is really alive).
- invariants: ring and replica checks that can run after every event.
- experiments/: path length, load balance, simultaneous failure, churn,
  ring merge after a partition.
- vectors: test vectors for the Rust node.
"""
