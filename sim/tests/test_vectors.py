import json

from chordsim import vectors
from chordsim.ids import hash_id


def test_committed_file_equals_fresh_regeneration():
    fresh = vectors.render(vectors.generate())
    assert vectors.VECTOR_PATH.read_text(encoding="utf-8") == fresh


def test_document_shape():
    doc = json.loads(vectors.render(vectors.generate()))
    assert doc["format"] == "chord-ring-vectors-v1"
    assert len(doc["nodes"]) == 32 and len(doc["tables"]) == 32
    assert len(doc["intervals"]) >= 40 and len(doc["finger_starts"]) >= 30
    assert len(doc["routes"]) == 300 and len(doc["keys"]) >= 200
    assert all(len(t["fingers"]) == 160 for t in doc["tables"])
    assert [len(r["nodes"]) for r in doc["small_rings"]] == [1, 2, 3]
    assert any("/" in k["key"] for k in doc["keys"])
    assert {0, 2, 3} <= {r["hops"] for r in doc["routes"]}


def test_ids_are_40_hex_of_sha1():
    doc = vectors.generate()
    for node in doc["nodes"]:
        assert node["id"] == format(hash_id(node["addr"]), "040x")


def test_committed_vnode_file_equals_fresh_regeneration():
    fresh = vectors.render(vectors.generate_vnodes())
    assert vectors.VNODE_PATH.read_text(encoding="utf-8") == fresh


def consecutive(case: dict, key: dict) -> bool:
    """Whether a key's holders are simply the positions after its owner."""
    addrs = [p["addr"] for p in case["positions"]]
    i = addrs.index(key["owner"])
    return key["holders"] == [addrs[(i + k) % len(addrs)] for k in range(len(key["holders"]))]


def test_vnode_document_shape_and_the_cases_exercise_skipping():
    doc = json.loads(vectors.render(vectors.generate_vnodes()))
    assert doc["format"] == "chord-vnode-vectors-v1" and doc["replicas"] == 3
    assert len(vectors.VNODE_PATH.read_bytes()) < 300_000
    by_shape = {(len(c["hosts"]), c["vnodes"]): c for c in doc["cases"]}
    main, plain, three = by_shape[(16, 16)], by_shape[(16, 1)], by_shape[(3, 4)]
    assert len(main["positions"]) == 256 and len(main["keys"]) >= 300
    for case in doc["cases"]:
        want = min(3, len(case["hosts"]))
        assert all(len(k["holders"]) == want for k in case["keys"])
        assert abs(sum(case["shares"].values()) - 1) < 1e-9
    # Without virtual nodes holders are the next positions; with them, a
    # good part of the keys skip a position of a host already holding them.
    assert all(consecutive(plain, k) for k in plain["keys"])
    assert sum(not consecutive(three, k) for k in three["keys"]) > len(three["keys"]) // 4
    assert any(not consecutive(main, k) for k in main["keys"])
    assert main["busiest_over_mean"] < plain["busiest_over_mean"]
