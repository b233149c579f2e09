#!/usr/bin/env python3
"""Exports one stream of a logseal data directory to plain (unencrypted) zstd Parquet.

    export_plain.py --data-dir D --stream web --out DIR [--zstd-level 6] [--jobs N]

The reference data set of benches/search.sh: the same rows, columns and
column types as the sealed files (client_ip as a string, timestamps as UTC
microseconds, ...), one plain file per sealed file with the same row-group
sizes, zstd at the sealer's level, no encryption. DuckDB then reads it.

The data objects are the ones the stream's manifests name
(`<store>/v1/<stream>/manifests/*.json`, key `data.key`, relative to the
store root), in manifest order; an orphan data object (written, never
described by a manifest) is not part of the log and is skipped, as the
query engine skips it. Each file is decrypted by pyarrow's own Parquet
Modular Encryption with the data directory's local master keys
(tests/interop/local_kms.py), reading on one thread (see
tests/interop/README.md), in --jobs worker processes (default: the CPU
count).

Prints a JSON summary on stdout: files, rows, bytes in, bytes out.
"""

import argparse
import json
import os
import sys
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "interop"))


def store_root(data_dir):
    """The local store directory of a data directory (its [store] section)."""
    config = tomllib.loads((data_dir / "logseal.toml").read_text())
    store = config.get("store", {})
    if store.get("kind", "local") != "local":
        raise SystemExit(f"export_plain.py: {data_dir}: the store is {store.get('kind')!r}, only a local store is supported")
    path = Path(store.get("path", "store"))
    return path if path.is_absolute() else data_dir / path


def data_objects(store, stream):
    """(file index, path) of every data object the stream's manifests name."""
    manifests = sorted((store / "v1" / stream / "manifests").glob("*.json"))
    if not manifests:
        raise SystemExit(f"export_plain.py: no manifests under {store}/v1/{stream}/manifests")
    objects = []
    for manifest in manifests:
        m = json.loads(manifest.read_text())
        objects.append((m["file_index"], store / m["data"]["key"]))
    return objects


def export_one(task):
    """Decrypts one sealed file and writes it plain; returns (rows, bytes in, bytes out)."""
    keys_dir, source, target, level = task
    import pyarrow.parquet as pq
    import pyarrow.parquet.encryption as pe
    from local_kms import crypto_factory

    factory = crypto_factory(keys_dir)
    decryption = factory.file_decryption_properties(pe.KmsConnectionConfig(), pe.DecryptionConfiguration())
    sealed = pq.ParquetFile(source, decryption_properties=decryption, pre_buffer=False)
    groups = [sealed.metadata.row_group(i).num_rows for i in range(sealed.metadata.num_row_groups)]
    table = sealed.read(use_threads=False)
    tmp = target.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, table.schema, compression="zstd", compression_level=level) as writer:
        start = 0
        for n in groups:  # the sealed file's row groups, one for one
            writer.write_table(table.slice(start, n), row_group_size=max(n, 1))
            start += n
    os.replace(tmp, target)
    rows = table.num_rows
    # Keep the decryption properties referenced until the table is done with.
    del table, sealed, decryption, factory
    return rows, source.stat().st_size, target.stat().st_size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--stream", required=True)
    parser.add_argument("--out", required=True, type=Path, help="output directory (created)")
    parser.add_argument("--zstd-level", type=int, default=6, help="default 6, the sealer's default")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    store = store_root(args.data_dir)
    objects = data_objects(store, args.stream)
    args.out.mkdir(parents=True, exist_ok=True)
    keys_dir = str(args.data_dir / "keys")
    tasks = [
        (keys_dir, path, args.out / f"{index:012}.parquet", args.zstd_level) for index, path in objects
    ]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(tasks)))) as pool:
        results = list(pool.map(export_one, tasks))
    summary = {
        "files": len(results),
        "rows": sum(r[0] for r in results),
        "bytes_in": sum(r[1] for r in results),
        "bytes_out": sum(r[2] for r in results),
        "seconds": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
