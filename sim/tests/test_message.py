from chordsim.message import Lookup, Msg


def test_one_way_messages_default_to_request_zero():
    m = Msg("notify", 1, 2)
    assert m.req == 0 and m.body is None


def test_lookup_starts_unhopped_and_not_final():
    look = Lookup(7, 99, 3)
    assert look.hops == 0 and not look.final
