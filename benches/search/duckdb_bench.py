#!/usr/bin/env python3
"""DuckDB, the reference engine of benches/search.sh, over plain zstd Parquet.

    duckdb_bench.py info    --parquet 'DIR/*.parquet'
    duckdb_bench.py pick-ip --parquet 'DIR/*.parquet' --target K [--candidates 20]
    duckdb_bench.py bench   --parquet 'DIR/*.parquet' --ip ADDR --url-contains S
                            --from RFC3339 --to RFC3339 [--columns a,b,...] [--runs 5]

info: rows, and the whole time range of the rows as logseal sees it (a
row's time is its event `time`, else its `received_at`, query/src/query.rs):
`from` = the earliest, floored to the second; `to` = one second past the
latest, floored (exclusive), as RFC 3339 UTC. One JSON object on stdout.

pick-ip: IPv4 addresses whose row count is nearest K, nearest first, one
`ADDRESS COUNT` line each (the caller keeps the first one that
`zstdcat | rg -F` counts the same).

bench: the queries of the benchmark, each timed inside this process with
time.perf_counter() around `con.execute(sql).fetchall()`, after `connect`
and `CREATE VIEW` (not timed): one warm-up run, then --runs timed runs;
one JSON object per query on stdout (name, sql, count or rows, every run
in ms, the median). The filters mirror logseal's: client_ip equality, a
literal substring of the URL (an investigator's --url-contains looks at
path?query: url_path or url_query, for a substring without '?'),
and the time range on coalesce(time, received_at), [from, to). The
`*_notime` variants drop the time range (informative). Row queries return
--columns (default every column), as logseal's full view does.
"""

import argparse
import json
import statistics
import sys
import time

import duckdb


def sql_string(text):
    return "'" + text.replace("'", "''") + "'"


def connect(pattern):
    con = duckdb.connect()
    con.execute(f"CREATE VIEW logs AS SELECT * FROM read_parquet({sql_string(pattern)})")
    return con


def cmd_info(args):
    con = connect(args.parquet)
    rows, lo, hi = con.execute(
        """SELECT count(*),
                  epoch_us(min(coalesce("time", received_at))),
                  epoch_us(max(coalesce("time", received_at)))
           FROM logs"""
    ).fetchone()
    fmt = lambda us: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(us // 1_000_000))  # noqa: E731
    print(
        json.dumps(
            {
                "rows": rows,
                "from": fmt(lo),
                "to": fmt(hi + 1_000_000),
                "duckdb": duckdb.__version__,
                "threads": int(con.execute("SELECT current_setting('threads')").fetchone()[0]),
            }
        )
    )


def cmd_pick_ip(args):
    con = connect(args.parquet)
    rows = con.execute(
        f"""SELECT client_ip, count(*) AS n FROM logs
            WHERE regexp_full_match(client_ip, '[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+')
            GROUP BY client_ip
            ORDER BY abs(n - {int(args.target)}), client_ip
            LIMIT {int(args.candidates)}"""
    ).fetchall()
    for ip, n in rows:
        print(ip, n)


def cmd_bench(args):
    con = connect(args.parquet)
    columns = "*" if not args.columns else ", ".join(f'"{c}"' for c in args.columns.split(","))
    row_time = 'coalesce("time", received_at)'
    in_range = (
        f"{row_time} >= {sql_string(args.from_)}::TIMESTAMPTZ AND {row_time} < {sql_string(args.to)}::TIMESTAMPTZ"
    )
    ip = f"client_ip = {sql_string(args.ip)}"
    if "%" in args.url_contains or "_" in args.url_contains or "\\" in args.url_contains:
        raise SystemExit("duckdb_bench.py: --url-contains must not hold %, _ or \\ (LIKE pattern characters)")
    if "?" in args.url_contains:
        raise SystemExit("duckdb_bench.py: --url-contains must not hold '?' (it would span path and query string)")
    pattern = sql_string("%" + args.url_contains + "%")
    url = f"(url_path LIKE {pattern} OR url_query LIKE {pattern})"
    queries = [
        ("ip_count", f"SELECT count(*) FROM logs WHERE {ip} AND {in_range}"),
        ("ip_rows", f"SELECT {columns} FROM logs WHERE {ip} AND {in_range}"),
        ("url_count", f"SELECT count(*) FROM logs WHERE {url} AND {in_range}"),
        ("url_rows", f"SELECT {columns} FROM logs WHERE {url} AND {in_range}"),
        ("ip_rows_notime", f"SELECT {columns} FROM logs WHERE {ip}"),
        ("url_rows_notime", f"SELECT {columns} FROM logs WHERE {url}"),
    ]
    if args.only:
        queries = [q for q in queries if q[0] in args.only.split(",")]
    for name, sql in queries:
        result = con.execute(sql).fetchall()  # warm-up
        runs = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            result = con.execute(sql).fetchall()
            runs.append((time.perf_counter() - t0) * 1000.0)
        record = {"name": name, "sql": sql, "runs_ms": [round(r, 3) for r in runs], "median_ms": round(statistics.median(runs), 3)}
        if name.endswith("_count"):
            record["count"] = result[0][0]
        else:
            record["rows"] = len(result)
        print(json.dumps(record), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info")
    info.add_argument("--parquet", required=True)
    pick = sub.add_parser("pick-ip")
    pick.add_argument("--parquet", required=True)
    pick.add_argument("--target", required=True, type=int)
    pick.add_argument("--candidates", type=int, default=20)
    bench = sub.add_parser("bench")
    bench.add_argument("--parquet", required=True)
    bench.add_argument("--ip", required=True)
    bench.add_argument("--url-contains", required=True)
    bench.add_argument("--from", dest="from_", required=True)
    bench.add_argument("--to", required=True)
    bench.add_argument("--columns", default="")
    bench.add_argument("--runs", type=int, default=5)
    bench.add_argument("--only", default="", help="comma-separated query names")
    args = parser.parse_args()
    {"info": cmd_info, "pick-ip": cmd_pick_ip, "bench": cmd_bench}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
