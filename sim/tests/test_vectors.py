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
