"""Write PaddleOCR-layout LMDB databases (num-samples, image-%09d, label-%09d; 1-based)."""
import os

import lmdb


def write_lmdb(out_dir, samples, map_size=None, commit_every=1000):
    """``samples``: iterable of (image_bytes, label). Returns the number written."""
    os.makedirs(out_dir, exist_ok=True)
    env = lmdb.open(out_dir, map_size=map_size or (1 << 36), subdir=True)
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
