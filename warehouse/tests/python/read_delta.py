"""Reads Orgata's Delta tables with the `deltalake` Python package, an independent Delta reader,
and prints canonical rows (one per line, sorted) for the Rust tests to compare with their own.

usage: read_delta.py TABLE_URI [KEY=VALUE storage options...]
"""
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable


def canonical(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def main():
    uri, options = sys.argv[1], dict(arg.split("=", 1) for arg in sys.argv[2:])
    table = DeltaTable(uri, storage_options=options or None).to_pyarrow_table()
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if str(column.type).startswith("timestamp"):
            column = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64())
        columns[name] = column.to_pylist()
    names = sorted(columns)
    print("|".join(names))
    rows = ["|".join(canonical(columns[n][i]) for n in names) for i in range(table.num_rows)]
    for row in sorted(rows):
        print(row)


if __name__ == "__main__":
    main()
    # deltalake 1.6.6 can abort in its runtime's teardown after reading a local table ("terminate
    # called without an active exception"); everything is printed by now, so leave without it.
    sys.stdout.flush()
    os._exit(0)
