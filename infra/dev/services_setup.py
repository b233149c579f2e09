"""Helper for infra/dev/services; run with the project venv's python.

Subcommands (all diagnostics go to stderr):
  ports N             print N distinct ports P, one a line, such that both P
                      and P+10000 are free on 127.0.0.1 (SeaweedFS puts a
                      component's gRPC port at its HTTP port + 10000, and some
                      of its internal clients assume that offset even when a
                      gRPC port flag says otherwise)
  wait                wait until S3 (SeaweedFS) and KMS (moto) answer
  provision           create the Object Lock buckets and the KMS keys; print
                      NAME=VALUE lines (the key ARNs) on stdout

The credentials and region come from the environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION), as set by infra/dev/services.
"""

import argparse
import os
import random
import socket
import sys
import time

HOST = "127.0.0.1"
# Below Linux's default ephemeral range (32768-60999), so that outgoing
# connections do not grab these ports between the check and the bind.
PORT_LOW, PORT_HIGH = 20000, 22767
GRPC_OFFSET = 10000

KEYS = [
    # (variable, alias, key spec, key usage)
    ("LOGSEAL_KMS_BASE_KEY", "alias/logseal-base", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    ("LOGSEAL_KMS_PII_KEY", "alias/logseal-pii", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    ("LOGSEAL_KMS_SIGNING_KEY", "alias/logseal-checkpoints", "ECC_NIST_P256", "SIGN_VERIFY"),
]


def log(msg):
    print(f"services_setup: {msg}", file=sys.stderr, flush=True)


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def cmd_ports(args):
    taken = set()
    out = []
    candidates = list(range(PORT_LOW, PORT_HIGH + 1))
    random.shuffle(candidates)
    for p in candidates:
        if len(out) == args.count:
            break
        if {p, p + GRPC_OFFSET} & taken:
            continue
        if port_free(p) and port_free(p + GRPC_OFFSET):
            out.append(p)
            taken.update((p, p + GRPC_OFFSET))
    if len(out) < args.count:
        log(f"found only {len(out)} of {args.count} free port pairs in {PORT_LOW}-{PORT_HIGH} (+{GRPC_OFFSET})")
        return 1
    print("\n".join(map(str, out)))
    return 0


def clients(args):
    import boto3
    from botocore.config import Config

    cfg = Config(
        connect_timeout=2,
        read_timeout=10,
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    region = os.environ.get("AWS_REGION", "us-east-1")
    s3 = boto3.client("s3", endpoint_url=args.s3, region_name=region, config=cfg)
    kms = boto3.client("kms", endpoint_url=args.kms, region_name=region, config=cfg)
    return s3, kms


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def cmd_wait(args):
    s3, kms = clients(args)
    deadline = time.monotonic() + args.timeout
    ready = {"s3": False, "kms": False}
    last = {}
    while True:
        for name, pid in (("weed", args.weed_pid), ("moto", args.moto_pid)):
            if not alive(pid):
                log(f"{name} (pid {pid}) exited during startup")
                return 3
        if not ready["s3"]:
            try:
                s3.list_buckets()
                ready["s3"] = True
                log(f"S3 answers at {args.s3}")
            except Exception as e:  # noqa: BLE001 - any failure means "not yet"
                last["s3"] = e
        if not ready["kms"]:
            try:
                kms.list_keys()
                ready["kms"] = True
                log(f"KMS answers at {args.kms}")
            except Exception as e:  # noqa: BLE001
                last["kms"] = e
        if all(ready.values()):
            return 0
        if time.monotonic() > deadline:
            for name, ok in ready.items():
                if not ok:
                    log(f"{name} did not answer within {args.timeout}s; last error: {last.get(name)!r}")
            return 2
        time.sleep(0.2)


def ensure_bucket(s3, bucket):
    from botocore.exceptions import ClientError

    try:
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        log(f"created bucket {bucket} (Object Lock enabled)")
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
        log(f"bucket {bucket} already exists")
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    if lock.get("ObjectLockEnabled") != "Enabled":
        raise SystemExit(f"bucket {bucket} exists without Object Lock; remove the services dir and start again")
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        raise SystemExit(f"bucket {bucket}: versioning is not enabled")


def cmd_provision(args):
    s3, kms = clients(args)
    for bucket in args.bucket:
        ensure_bucket(s3, bucket)
    existing = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    for var, alias, spec, usage in KEYS:
        if existing.get(alias):
            arn = kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
            log(f"{alias} exists: {arn}")
        else:
            meta = kms.create_key(
                KeySpec=spec,
                KeyUsage=usage,
                Description=f"logseal development key ({alias})",
            )["KeyMetadata"]
            kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
            arn = meta["Arn"]
            log(f"created {spec} {usage} key {alias}: {arn}")
        print(f"{var}={arn}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("ports")
    sp.add_argument("count", type=int)
    sp.set_defaults(func=cmd_ports)
    for name, func in (("wait", cmd_wait), ("provision", cmd_provision)):
        sp = sub.add_parser(name)
        sp.add_argument("--s3", required=True, help="S3 endpoint URL")
        sp.add_argument("--kms", required=True, help="KMS endpoint URL")
        sp.set_defaults(func=func)
        if name == "wait":
            sp.add_argument("--weed-pid", type=int, required=True)
            sp.add_argument("--moto-pid", type=int, required=True)
            sp.add_argument("--timeout", type=float, default=60)
        else:
            sp.add_argument("--bucket", action="append", required=True)
    args = p.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
