"""
The chdb tier's engine: a current ClickHouse (PyPI chdb-core, in-process) behind a line protocol,
so the TypeScript tests can send it SQL. One session with a data path per process (MergeTree
tables, materialized views and inserts need one).

stdin:  one JSON object per line: {"sql": "...", "format": "JSONEachRow"}  (format optional)
stdout: one JSON object per line: {"ok": true, "data": "<the result as text>"}
                               or {"ok": false, "error": "<ClickHouse's message>"}
"""
import json
import sys

from chdb import session

def main() -> None:
    sess = session.Session(sys.argv[1])
    version = sess.query("SELECT version()", "TabSeparated").bytes().decode().strip()
    print(json.dumps({"ok": True, "data": version}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            result = sess.query(request["sql"], request.get("format") or "TabSeparated")
            reply = {"ok": True, "data": result.bytes().decode("utf-8") if result is not None else ""}
        except Exception as error:  # ClickHouse's refusal is an answer, not a crash
            reply = {"ok": False, "error": str(error)}
        print(json.dumps(reply), flush=True)

if __name__ == "__main__":
    main()
