"""Calls MCP tools over streamable HTTP with the official MCP Python SDK, as an agent would.

Run by the api tests (`crate::mcp::calls`): `python mcp_calls.py CONFIG.json`. The config holds the
`/mcp` URL, a team's API key and the calls (`tool`, `arguments`), made in order in one session.
Prints, as one JSON list on stdout, each call's outcome: whether it was a tool error, every text
the tool returned, and its structured result.
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
        for call in config["calls"]:
            result = await client.call_tool(call["tool"], call["arguments"])
            text = " ".join(c.text for c in result.content if getattr(c, "text", None))
            outcomes.append({"error": bool(result.is_error), "text": text, "structured": result.structured_content})
    print(json.dumps(outcomes))


asyncio.run(main())
