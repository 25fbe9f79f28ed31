"""Write PaddleOCR-layout LMDB databases (num-samples, image-%09d, label-%09d; 1-based)."""
import os

import lmdb

LMDB_FILES = ("data.mdb", "lock.mdb")
DEFAULT_MAP_SIZE = 1 << 40  # address space only: data.mdb grows with what is written (upstream uses 1 TiB too)


def write_lmdb(out_dir, samples, map_size=None, commit_every=1000, overwrite=False):
    """``samples``: iterable of (image_bytes, label). Returns the number written.

    An existing database in ``out_dir`` is an error (stale keys beyond the new
    num-samples would survive) unless ``overwrite`` removes it first."""
    os.makedirs(out_dir, exist_ok=True)
    existing = [os.path.join(out_dir, f) for f in LMDB_FILES if os.path.exists(os.path.join(out_dir, f))]
    if existing and not overwrite:
        raise FileExistsError(f"{out_dir} already holds an LMDB database; choose another folder or overwrite it")
    for path in existing:
        os.remove(path)
    env = lmdb.open(out_dir, map_size=map_size or DEFAULT_MAP_SIZE, subdir=True)
    count = 0
    txn = env.begin(write=True)
    try:
        for image, label in samples:
            count += 1
            txn.put(b"image-%09d" % count, bytes(image))
            txn.put(b"label-%09d" % count, label.encode("utf-8"))
            if count % commit_every == 0:
                txn.commit()
                txn = env.begin(write=True)
        txn.put(b"num-samples", str(count).encode())
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    finally:
        env.close()
    return count
