#!/usr/bin/env python3
"""Reads a logseal sealed file with pyarrow and prints its rows as JSON.

    read_sealed.py --keys DIR --file PATH [--columns a,b,...] [--json-out PATH]
    read_sealed.py --kms aws --base-key ARN [--pii-key ARN] --file PATH|s3://BUCKET/KEY ...

The file is decrypted through pyarrow's own Parquet Modular Encryption
(CryptoFactory, PKMT1 key material, double wrapping) with the master keys in
DIR (local keys, see local_kms.py) or, with --kms aws, with the deployment's
AWS KMS keys through KMS Decrypt (see aws_kms.py; endpoint from
AWS_ENDPOINT_URL_KMS; without --pii-key only the base columns can be read).
A --file of the form s3://BUCKET/KEY is fetched with boto3 (endpoint from
AWS_ENDPOINT_URL_S3). Output: JSON Lines, one object per row, columns in
file order; binary as base64, fixed-size binary as hex, timestamps as
integer microseconds since the epoch. With --no-decryption the file is read
with no decryption properties at all (which must fail on a sealed file).
Exits 1 with the error on stderr if the file cannot be read.
"""

import argparse
import base64
import json
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe

sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_kms  # noqa: E402


def open_source(path):
    """A local path as is; s3://BUCKET/KEY fetched into memory with boto3."""
    if not path.startswith("s3://"):
        return path
    import boto3
    from botocore.config import Config

    bucket, _, key = path[len("s3://") :].partition("/")
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or None,
        region_name=os.environ.get("AWS_REGION") or None,
        config=Config(s3={"addressing_style": "path"}),
    )
    return pa.BufferReader(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def read_table(source, factory, columns):
    if factory is None:
        return pq.read_table(source, columns=columns)
    decryption = factory.file_decryption_properties(pe.KmsConnectionConfig(), pe.DecryptionConfiguration())
    # Read on this thread only: with Arrow's thread pools (pyarrow 26) a pool
    # thread may drop the last reference to the decryption properties while
    # the interpreter exits; the Python KMS client factory's destructor then
    # takes the GIL on a finalizing interpreter and the process aborts
    # ("terminate called without an active exception", ~3% of runs with
    # the boto3 client under load).
    parquet_file = pq.ParquetFile(source, decryption_properties=decryption, pre_buffer=False)
    return parquet_file.read(columns=columns, use_threads=False)


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
    parser.add_argument(
        "--kms", choices=["local", "aws"], default="local", help="where the master keys are (default: local, --keys)"
    )
    parser.add_argument("--base-key", help="--kms aws: the base domain's KMS key id or ARN")
    parser.add_argument("--pii-key", help="--kms aws: the pii domain's KMS key id or ARN (omit: base columns only)")
    # Tests only: ask KMS with another encryption context (logseal:purpose).
    parser.add_argument("--kms-purpose", default="kek", help=argparse.SUPPRESS)
    parser.add_argument("--file", required=True, help="a sealed Parquet file, or s3://BUCKET/KEY")
    parser.add_argument("--columns", help="comma-separated column names (default: all)")
    parser.add_argument("--json-out", help="where to write the rows (default: stdout)")
    parser.add_argument(
        "--no-decryption", action="store_true", help="read without decryption properties"
    )
    args = parser.parse_args()
    if args.kms == "aws":
        if args.keys is not None or args.no_decryption or args.base_key is None:
            parser.error("--kms aws takes --base-key ARN [--pii-key ARN], not --keys or --no-decryption")
    elif args.base_key or args.pii_key:
        parser.error("--base-key and --pii-key need --kms aws")
    elif (args.keys is None) != args.no_decryption:
        parser.error("give exactly one of --keys DIR and --no-decryption")
    columns = args.columns.split(",") if args.columns else None

    try:
        if args.kms == "aws":
            import aws_kms

            factory = aws_kms.crypto_factory(args.base_key, args.pii_key, purpose=args.kms_purpose)
        elif args.keys is not None:
            factory = local_kms.crypto_factory(args.keys)
        else:
            factory = None
        table = read_table(open_source(args.file), factory, columns)
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
