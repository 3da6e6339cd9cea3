#!/usr/bin/env python3
"""make_corpus.py: writes the codec fuzzer's seed corpus (tests/fuzz/corpus).

The seeds are small valid and malformed inputs for both ways codec_fuzz.c
reads an input: as an AppendEntries message (files named msg_*) and as a
program of gets over a stream (files named stream_*). Run it again after
changing the wire format or the fuzz target's input layout; the files it
writes are committed, and `make unit` replays them.

    python3 tests/fuzz/make_corpus.py [OUTPUT_DIR]
"""

import os
import sys

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


# ---- the wire format (codec/codec.h) ----

def uvarint(v):
    assert 0 <= v < 2**64
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint(v):
    assert INT64_MIN <= v <= INT64_MAX
    return uvarint((v << 1) ^ (v >> 63) if v < 0 else v << 1)


def boolean(v):
    return b"\x01" if v else b"\x00"


def byte_string(data):
    return uvarint(len(data)) + data


# ---- inputs read as an AppendEntries message ----

def append_entries(term, leader, prev_index, prev_term, entries, commit):
    out = varint(term) + varint(leader) + varint(prev_index) + varint(prev_term)
    out += uvarint(len(entries))
    for entry_term, command in entries:
        out += varint(entry_term) + byte_string(command)
    return out + varint(commit)


# ---- inputs read as a program of gets over a stream ----
# (the operation codes of codec_fuzz.c)

OP_UVARINT, OP_VARINT, OP_INT, OP_BOOL = 0, 1, 2, 3
OP_BYTES, OP_BYTES_VIEW, OP_SEQ, OP_FINISH = 4, 5, 6, 7


def op_seq(min_elem_size):
    assert 1 <= min_elem_size <= 32
    return OP_SEQ | (min_elem_size - 1) << 3


def stream(ops, data):
    assert 1 <= len(ops) <= 16
    return bytes([len(ops) - 1]) + bytes(ops) + data


def seeds():
    heartbeat = append_entries(5, 1, 10, 4, [], 9)
    three = append_entries(
        300, 2, 2**40, 7,
        [(7, b"set x 1"), (8, b""), (INT64_MAX, b"\x00\xff\x80\x00\x01")], 127)
    yield "msg_heartbeat", heartbeat
    yield "msg_one_int_entry", append_entries(1, 0, 0, 0, [(1, varint(111))], 0)
    yield "msg_three_entries", three
    yield "msg_5000_byte_entry", append_entries(2, 0, 1, 1, [(2, b"x" * 5000)], 1)
    yield "msg_extremes", append_entries(
        INT64_MAX, INT_MIN, INT64_MIN, INT64_MAX, [(INT64_MIN, b"")], INT64_MIN)
    yield "msg_truncated", three[: len(three) // 2]
    yield "msg_trailing_byte", heartbeat + b"\x00"
    yield "msg_leader_out_of_int_range", append_entries(1, INT_MAX + 1, 0, 0, [], 0)
    yield "msg_huge_entry_count", varint(1) * 4 + uvarint(2**64 - 1) + varint(0)
    yield "msg_huge_command_length", (
        varint(1) * 4 + uvarint(1) + varint(1) + uvarint(2**63) + b"abc")

    every_kind = [OP_UVARINT, OP_VARINT, OP_INT, OP_BOOL, OP_BYTES,
                  OP_BYTES_VIEW, op_seq(1), OP_UVARINT, OP_FINISH]
    yield "stream_every_kind", stream(every_kind,
        uvarint(2**64 - 1) + varint(INT64_MIN) + varint(INT_MIN) + boolean(True)
        + byte_string(b"hello") + byte_string(b"") + uvarint(2) + uvarint(1)
        + uvarint(128))
    # Elements take the operations after their sequence's, cycling through
    # the program, so [seq, seq, bytes] over this stream reads
    # [["a", []], ["b"], []].
    yield "stream_nested_seq", stream([op_seq(1), op_seq(1), OP_BYTES],
        uvarint(3) + uvarint(2) + byte_string(b"a") + uvarint(0)
        + uvarint(1) + byte_string(b"b") + uvarint(0))
    yield "stream_uvarint_max", stream([OP_UVARINT], b"\xff" * 9 + b"\x01")
    yield "stream_uvarint_11_bytes", stream([OP_UVARINT], b"\x80" * 10 + b"\x00")
    yield "stream_uvarint_tenth_byte_2", stream([OP_UVARINT], b"\xff" * 9 + b"\x02")
    yield "stream_uvarint_non_minimal", stream([OP_UVARINT], b"\x80\x80\x00")
    yield "stream_bad_bool", stream([OP_BOOL], b"\x01\x00\x02")
    yield "stream_truncated_varint", stream([OP_VARINT], b"\xff\xff")
    yield "stream_bytes_one_past_end", stream([OP_BYTES_VIEW], uvarint(3) + b"ab")
    yield "stream_huge_bytes_length", stream([OP_BYTES], uvarint(2**64 - 1) + b"xy")
    yield "stream_seq_count_overflow", stream([op_seq(8), OP_UVARINT],
        uvarint(2**62) + b"\x00" * 8)
    # The sequence fails (ELENGTH) at a byte that would pass for a bool:
    # the bool read after it must fail with the same error.
    yield "stream_error_sticks", stream([op_seq(32), OP_BOOL], uvarint(1) + b"\x00")
    yield "empty", b""


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out_dir, exist_ok=True)
    count = 0
    for name, data in seeds():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        count += 1
    print(f"make_corpus: wrote {count} seeds to {out_dir}")


if __name__ == "__main__":
    main()
