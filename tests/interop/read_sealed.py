#!/usr/bin/env python3
"""Reads a logseal sealed file with pyarrow and prints its rows as JSON.

    read_sealed.py --keys DIR --file PATH [--columns a,b,...] [--json-out PATH]

The file is decrypted through pyarrow's own Parquet Modular Encryption
(CryptoFactory, PKMT1 key material, double wrapping) with the master keys in
DIR (see local_kms.py). Output: JSON Lines, one object per row, columns in
file order; binary as base64, fixed-size binary as hex, timestamps as
integer microseconds since the epoch. With --no-decryption the file is read
with no decryption properties at all (which must fail on a sealed file).
Exits 1 with the error on stderr if the file cannot be read.
"""

import argparse
import base64
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_kms import crypto_factory  # noqa: E402


def read_table(path, keys_dir, columns):
    if keys_dir is None:
        return pq.read_table(path, columns=columns)
    decryption = crypto_factory(keys_dir).file_decryption_properties(
        pe.KmsConnectionConfig(), pe.DecryptionConfiguration()
    )
    return pq.ParquetFile(path, decryption_properties=decryption).read(columns=columns)


def json_values(column):
    """A column's values as JSON-ready Python values."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        return column.cast(pa.int64()).to_pylist()
    values = column.to_pylist()
    if pa.types.is_fixed_size_binary(kind):
        return [None if v is None else v.hex() for v in values]
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return [None if v is None else base64.b64encode(v).decode("ascii") for v in values]
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", help="the key directory (base.key, pii.key)")
    parser.add_argument("--file", required=True, help="a sealed Parquet file")
    parser.add_argument("--columns", help="comma-separated column names (default: all)")
    parser.add_argument("--json-out", help="where to write the rows (default: stdout)")
    parser.add_argument(
        "--no-decryption", action="store_true", help="read without decryption properties"
    )
    args = parser.parse_args()
    if (args.keys is None) != args.no_decryption:
        parser.error("give exactly one of --keys DIR and --no-decryption")
    columns = args.columns.split(",") if args.columns else None

    try:
        table = read_table(args.file, args.keys, columns)
    except Exception as e:  # noqa: BLE001 - any failure is reported the same way
        print(f"read_sealed.py: reading {args.file}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1

    names = table.column_names
    values = [json_values(table.column(name)) for name in names]
    text = "".join(json.dumps(dict(zip(names, row)), ensure_ascii=False) + "\n" for row in zip(*values))
    if args.json_out:
        Path(args.json_out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(f"read_sealed.py: {table.num_rows} rows, {len(names)} columns", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
