"""Fast reader for the scalar records of VisualDL ``vdlrecords.*.log`` files.

File format (VisualDL's RecordWriter): records of ``uint64 little-endian length``
followed by a serialized ``Record`` protobuf. A scalar record holds one
``Value {id=step (1), tag (2), timestamp ms (3), value float32 (4)}``.

VisualDL's own ``LogReader`` parses every record with protobuf in a Python loop
(about 10 us each). Here record offsets and the fields of ordinary scalar
records are decoded with numpy over the whole file at once; records of any
other shape (meta data, images, text, several values) go through protobuf one
by one, so nothing is dropped. A truncated last record (a crash while writing)
is ignored.
"""
import struct

import numpy as np

_PAD = 16
_MAX_TAG_FAST = 16  # tags up to this length are identified by two 8-byte windows


def read_scalars(path):
    """Scalars of one file: ``{tag: (steps int64, values float64, walltime_ms int64)}``
    in file order."""
    with open(path, "rb") as f:
        raw = f.read()
    return parse_scalars(raw)


def parse_scalars(raw):
    """Like :func:`read_scalars` for the bytes of a file."""
    if len(raw) < 9:
        return {}
    padded = raw + b"\0" * _PAD
    buf = np.frombuffer(padded, np.uint8)
    starts, lengths = _record_offsets(buf, raw)
    if len(starts) == 0:
        return {}
    fields, ok = _decode_scalar_fields(buf, padded, starts, lengths)
    groups = _group_by_tag(padded, fields, ok)
    out = {tag: (fields["step"][rows], fields["value"][rows], fields["wall"][rows]) for tag, rows in groups.items()}
    slow = np.flatnonzero(~ok)
    if len(slow):
        _merge(out, groups, _parse_slow(raw, starts[slow], lengths[slow], slow))
    return out


# ----------------------------------------------------------------- offsets
def _record_offsets(buf, raw):
    """Start offsets and lengths of the records, vectorised with a sequential fallback."""
    n = len(raw)
    cand = np.flatnonzero(buf[8:n] == 0x0A)  # payload of a Record starts with field 1 (values)
    if len(cand):
        hi = buf[cand + 4] | buf[cand + 5] | buf[cand + 6] | buf[cand + 7]
        cand = cand[hi == 0]
    if len(cand) and cand[0] == 0:
        lengths = (buf[cand].astype(np.int64) | (buf[cand + 1].astype(np.int64) << 8)
                   | (buf[cand + 2].astype(np.int64) << 16) | (buf[cand + 3].astype(np.int64) << 24))
        nxt = cand + 8 + lengths
        cand, lengths, nxt = _keep_chain(cand, lengths, nxt)
        if len(cand) and np.array_equal(nxt[:-1], cand[1:]):
            if nxt[-1] <= n:
                return cand, lengths
            if len(cand) > 1 and nxt[-2] <= n:  # truncated last record
                return cand[:-1], lengths[:-1]
    return _walk(raw)


def _keep_chain(cand, lengths, nxt):
    """Drop false candidates (0x0A bytes inside records) until only the chain from offset 0 is left."""
    for _ in range(64):
        if np.array_equal(nxt[:-1], cand[1:]):
            break
        keep = (cand == 0) | np.isin(cand, nxt)
        if keep.all():
            break
        cand, lengths, nxt = cand[keep], lengths[keep], nxt[keep]
    return cand, lengths, nxt


def _walk(raw):
    """Sequential header walk (files with records >16 MB or odd content)."""
    starts, lengths = [], []
    pos, n = 0, len(raw)
    while pos + 8 <= n:
        (length,) = struct.unpack_from("<Q", raw, pos)
        if pos + 8 + length > n:
            break
        starts.append(pos)
        lengths.append(length)
        pos += 8 + length
    return np.array(starts, np.int64), np.array(lengths, np.int64)


# ----------------------------------------------------------------- fields
_HIGH = np.uint64(0x8080808080808080)
_ONE = np.uint64(1)


def _varint(buf, pos, active):
    """Decode varints at ``pos`` where ``active``; returns (value uint64, byte length).

    Varints of up to 8 bytes (steps, millisecond timestamps) are decoded from one
    8-byte window each; longer ones (negative steps) byte by byte.
    """
    pos = np.minimum(pos, len(buf) - 8)
    first = buf[pos]
    if np.all((first < 0x80) | ~active):  # one-byte varints (lengths, small values): the common case
        return np.where(active, first, 0).astype(np.uint64), active.astype(np.int64)
    u64 = np.ndarray((len(buf) - 7,), "<u8", buf, 0, (1,))
    w = u64[pos]
    term = ~w & _HIGH  # the last byte of a varint has its high bit clear
    low = term & (~term + _ONE)
    mask = (low << _ONE) - _ONE
    w &= mask
    size = np.bitwise_count(mask).astype(np.int64) // 8
    value = _pack7(w)
    long = active & (term == 0)
    if long.any():
        value[long], size[long] = _varint_slow(buf, pos[long])
    if not active.all():
        value[~active] = 0
        size[~active] = 0
    return value, size


def _pack7(w):
    """Concatenate the low 7 bits of each of the 8 bytes of ``w`` (little-endian) into 56 bits."""
    u = np.uint64
    v = w & u(0x7F7F7F7F7F7F7F7F)
    v = (v & u(0x007F007F007F007F)) | ((v & u(0x7F007F007F007F00)) >> u(1))
    v = (v & u(0x00003FFF00003FFF)) | ((v & u(0x3FFF00003FFF0000)) >> u(2))
    return (v & u(0x000000000FFFFFFF)) | ((v & u(0x0FFFFFFF00000000)) >> u(4))


def _varint_slow(buf, pos):
    value = np.zeros(len(pos), np.uint64)
    size = np.zeros(len(pos), np.int64)
    cont = np.ones(len(pos), bool)
    for k in range(10):
        byte = buf[np.minimum(pos + k, len(buf) - 1)]
        value |= np.where(cont, (byte & 0x7F).astype(np.uint64) << np.uint64(7 * k), np.uint64(0))
        size += cont
        cont = cont & (byte >= 0x80)
    return value, size


def _decode_scalar_fields(buf, padded, starts, lengths):
    """Decode ``[0x0A len [0x08 id] 0x12 tag [0x18 ts] 0x25 f32]`` records; ``ok`` marks those that match."""
    end = starts + 8 + lengths
    everyone = np.ones(len(starts), bool)
    outer_len, outer_size = _varint(buf, starts + 9, everyone)
    pos = starts + 9 + outer_size
    ok = (pos + outer_len.astype(np.int64)) == end
    has_id = buf[pos] == 0x08
    step, size = _varint(buf, pos + 1, has_id)
    pos = pos + np.where(has_id, 1 + size, 0)
    ok &= buf[pos] == 0x12
    tag_len, size = _varint(buf, pos + 1, ok)
    tag_len = tag_len.astype(np.int64)
    tag_start = pos + 1 + size
    pos = tag_start + tag_len
    ok &= pos < end
    pos = np.where(ok, pos, starts)
    has_ts = buf[pos] == 0x18
    wall, size = _varint(buf, pos + 1, has_ts & ok)
    pos = pos + np.where(has_ts, 1 + size, 0)
    ok &= (buf[pos] == 0x25) & (pos + 5 == end)
    f32 = np.ndarray((len(padded) - 4,), "<f4", padded, 0, (1,))
    values = f32[np.where(ok, pos + 1, 0)].astype(np.float64)
    fields = {
        "step": step.view(np.int64), "wall": wall.view(np.int64), "value": values,
        "tag_start": tag_start, "tag_len": tag_len,
    }
    return fields, ok


def _group_by_tag(padded, fields, ok):
    """Record indices of the fast-decoded records per tag, in file order."""
    idx = np.flatnonzero(ok)
    if not len(idx):
        return {}
    start, length = fields["tag_start"][idx], fields["tag_len"][idx]
    u64 = np.ndarray((len(padded) - 7,), "<u8", padded, 0, (1,))
    first = u64[start]
    short = length < 8
    mask = np.where(short, (np.uint64(1) << (np.minimum(length, 7) * 8).astype(np.uint64)) - np.uint64(1),
                    np.uint64(0xFFFFFFFFFFFFFFFF))
    first &= mask
    last = np.where(short, np.uint64(0), u64[np.maximum(start + length - 8, 0)])
    key = first * np.uint64(0x9E3779B97F4A7C15) ^ last * np.uint64(0xC2B2AE3D27D4EB4F) ^ length.astype(np.uint64)
    groups_pos = _split_by_key(key)
    out = {}
    for sel in groups_pos:
        rep = sel[0]
        tag = bytes(padded[start[rep]:start[rep] + length[rep]])
        same = (first[sel] == first[rep]) & (last[sel] == last[rep]) & (length[sel] == length[rep])
        if length[rep] > _MAX_TAG_FAST:  # the two 8-byte windows do not cover the middle bytes
            buf = np.frombuffer(padded, np.uint8)
            for k in range(8, int(length[rep]) - 8):
                same &= buf[start[sel] + k] == tag[k]
        groups = {tag: idx[sel[same]]}
        for pos in sel[~same]:  # hash collision or a long tag differing in the middle: rare
            other = bytes(padded[start[pos]:start[pos] + length[pos]])
            groups[other] = np.append(groups.get(other, np.empty(0, np.int64)), idx[pos])
        for tag_bytes, rows in groups.items():
            name = tag_bytes.decode("utf-8", "replace")
            out[name] = np.sort(np.concatenate([out[name], rows])) if name in out else rows
    return out


def _split_by_key(key):
    """Positions of each distinct key, in order. Trainers log the same few tags over and over,
    so the keys of the first records are matched with cheap comparisons; the rest are sorted."""
    groups, covered = [], np.zeros(len(key), bool)
    for k in np.unique(key[:4096]):
        hit = key == k
        groups.append(np.flatnonzero(hit))
        covered |= hit
    rest = np.flatnonzero(~covered)
    if len(rest):
        order = np.argsort(key[rest], kind="stable")
        sorted_keys = key[rest][order]
        cuts = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
        groups += [rest[part] for part in np.split(order, cuts)]
    return groups


# ----------------------------------------------------------------- slow path
def _parse_slow(raw, starts, lengths, record_index):
    """Records of other shapes via protobuf: ``[(record index, tag, step, value, wall ms)]``."""
    from visualdl.proto import record_pb2

    rows = []
    for rec, start, length in zip(record_index.tolist(), starts.tolist(), lengths.tolist()):
        record = record_pb2.Record()
        try:
            record.ParseFromString(raw[start + 8:start + 8 + length])
        except Exception:  # noqa: BLE001 - a corrupt record is skipped, as VisualDL does
            continue
        for value in record.values:
            if value.WhichOneof("one_value") == "value":
                rows.append((rec, value.tag, value.id, value.value, value.timestamp))
    return rows


def _merge(out, groups, rows):
    """Add slow-path scalars to ``out``, in file order inside each tag."""
    by_tag = {}
    for row in rows:
        by_tag.setdefault(row[1], []).append(row)
    for tag, items in by_tag.items():
        rec = np.array([r[0] for r in items], np.int64)
        cols = (np.array([r[2] for r in items], np.int64), np.array([r[3] for r in items], np.float64),
                np.array([r[4] for r in items], np.int64))
        if tag in out:
            rec = np.concatenate([groups[tag], rec])
            cols = tuple(np.concatenate([a, b]) for a, b in zip(out[tag], cols))
        order = np.argsort(rec, kind="stable")
        out[tag] = tuple(c[order] for c in cols)
