"""Sends the analyst-SQL attack corpus through MCP's `run_sql` tool, as an agent would.

Run by api/tests/it/sandbox.rs: `python mcp_sql_probes.py CONFIG.json`. The config holds the
`/mcp` URL, a team's API key and the probes (`sql`, `engine`). Prints, as one JSON list on stdout,
each call's outcome: whether it was a tool error, and every text the tool returned.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def main():
    with open(sys.argv[1]) as f:
        config = json.load(f)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {config['key']}"}, timeout=120)
    server = streamable_http_client(config["url"], http_client=http)
    outcomes = []
    async with Client(server, mode="legacy", cache=None, raise_exceptions=True) as client:
        for probe in config["probes"]:
            result = await client.call_tool("run_sql", {"sql": probe["sql"], "engine": probe["engine"]})
            text = " ".join(c.text for c in result.content if getattr(c, "text", None))
            outcomes.append({"error": bool(result.is_error), "text": text})
    print(json.dumps(outcomes))


asyncio.run(main())
