import hashlib

from chordsim.ids import SIZE, distance, finger_start, from_hex, hash_id, to_hex


def test_hash_id_is_big_endian_sha1():
    digest = hashlib.sha1(b"node-00:7000").digest()
    assert hash_id("node-00:7000") == int.from_bytes(digest, "big")
    assert to_hex(hash_id("node-00:7000")) == digest.hex()


def test_hash_id_uses_utf8():
    assert hash_id("ユーザー:1") == int.from_bytes(hashlib.sha1("ユーザー:1".encode()).digest(), "big")


def test_hex_is_zero_padded_40_digits():
    assert to_hex(0) == "0" * 40
    assert to_hex(SIZE - 1) == "f" * 40
    assert from_hex(to_hex(12345)) == 12345


def test_distance_wraps():
    assert distance(10, 5) == SIZE - 5
    assert distance(5, 10) == 5
    assert distance(7, 7) == 0


def test_finger_start_wraps_past_top():
    assert finger_start(SIZE - 1, 0) == 0
    assert finger_start(0, 159) == 1 << 159
    assert finger_start(SIZE - 1, 159) == (1 << 159) - 1
