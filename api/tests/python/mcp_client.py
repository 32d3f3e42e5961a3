"""Drives Orgata's MCP server with the official MCP Python SDK (`mcp`), as an agent would.

Run by api/tests/it/mcp.rs: `python mcp_client.py CONFIG.json`. The config names the transport
(`stdio`: the `orgata` binary and its environment; `http`: the `/mcp` URL), the API keys of two
teams, and the records the test made through REST. The script checks what the protocol promises
(every tool listed with an input schema, errors as tool errors that leave the session usable, the
second team seeing nothing of the first) and prints, as one JSON document on stdout, what the
tools and resources answered, which the Rust test compares with the REST API's answers.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

TOOLS = {
    "list_team_members", "list_tasks", "get_process_status", "create_process", "complete_task", "assign_task",
    "search_playbooks", "run_sql", "get_bottlenecks", "get_metrics", "compare_periods", "list_anomalies", "start_task",
    "predict_case", "list_at_risk_cases",
    "cancel_process", "add_comment", "edit_playbook", "edit_comment", "delete_comment", "organisation_settings",
}
RESOURCES = {
    "team://current", "processes://active", "tasks://assigned", "playbooks://library", "analytics://bottlenecks",
    "analytics://metrics", "analytics://predictions",
}
# Read apart: this small history has no prediction model, which the resource says.
UNREADABLE = {"analytics://predictions"}
PROMPTS = {"process_help", "task_guidance", "analyze_bottlenecks"}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def connect(config, key):
    if config["transport"] == "stdio":
        env = dict(config["env"], ORGATA_API_KEY=key)
        server = StdioServerParameters(command=config["orgata"], args=["mcp"], env=env)
    else:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
        server = streamable_http_client(config["url"], http_client=http)
    return Client(server, mode="legacy", cache=None, raise_exceptions=True)


async def ok(client, tool, args):
    """Calls a tool that must succeed; its structured result."""
    result = await client.call_tool(tool, args)
    text = result.content[0].text if result.content else ""
    check(not result.is_error, f"{tool}({args}) failed: {text}")
    check(isinstance(result.structured_content, dict), f"{tool} returned no structured content: {result}")
    check(json.loads(text) == result.structured_content, f"{tool}: the text content is not the structured JSON")
    return result.structured_content


async def fails(client, tool, args, expected):
    """Calls a tool that must fail as a tool error whose message says `expected`."""
    result = await client.call_tool(tool, args)
    check(result.is_error, f"{tool}({args}) should have failed: {result.structured_content}")
    text = " ".join(c.text for c in result.content if getattr(c, "text", None))
    check(expected in text, f"{tool}({args}): expected `{expected}` in the error, got: {text}")
    return text


async def refused(call, expected, what):
    """Awaits a request that must fail as a protocol error whose message says `expected`."""
    try:
        await call
    except MCPError as e:
        check(expected in e.error.message, f"{what}: {e.error.message}")
        return
    check(False, f"{what} should have failed")


async def read(client, uri):
    result = await client.read_resource(uri)
    check(len(result.contents) == 1, f"{uri}: one content expected")
    content = result.contents[0]
    check(content.mime_type == "application/json", f"{uri}: JSON expected, got {content.mime_type}")
    return json.loads(content.text)


async def prompt_text(client, name, args):
    result = await client.get_prompt(name, args)
    check(len(result.messages) >= 1, f"{name}: no messages")
    return result.messages[0].content.text


async def first_team(config):
    ids = config["ids"]
    out = {}
    async with connect(config, config["key"]) as client:
        # Initialize.
        check(client.server_info.name == "orgata", f"server info: {client.server_info}")
        caps = client.server_capabilities
        check(caps.tools is not None and caps.resources is not None and caps.prompts is not None, f"{caps}")
        check("API key" in (client.instructions or ""), "instructions")
        out["protocol_version"] = client.protocol_version

        # Tools: every one listed, each with an object input schema.
        tools = (await client.list_tools()).tools
        check({t.name for t in tools} == TOOLS, f"tools: {sorted(t.name for t in tools)}")
        for t in tools:
            check(t.input_schema.get("type") == "object", f"{t.name}: input schema {t.input_schema}")
            check(t.description, f"{t.name}: no description")
        schemas = {t.name: t.input_schema for t in tools}
        check("sql" in schemas["run_sql"]["required"], "run_sql requires sql")
        check("process_id" in schemas["get_process_status"]["required"], "get_process_status requires process_id")

        # Resources and templates.
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        check(RESOURCES <= listed, f"resources: {sorted(listed)}")
        check(f"playbook://{ids['playbook']}" in listed, f"the playbook is listed: {sorted(listed)}")
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        check(templates == {"process://{id}", "playbook://{id}"}, f"templates: {templates}")
        out["resources"] = {uri: await read(client, uri) for uri in sorted(RESOURCES - UNREADABLE)}
        out["resources"]["process"] = await read(client, f"process://{ids['process']}")
        out["resources"]["playbook"] = await read(client, f"playbook://{ids['playbook']}")
        await refused(client.read_resource("process://nope"), "not-found", "missing process")

        # Tools with valid arguments (reads first, then writes).
        to = ids["to"]
        out["members"] = await ok(client, "list_team_members", {})
        out["process"] = await ok(client, "get_process_status", {"process_id": ids["process"]})
        out["search"] = await ok(client, "search_playbooks", {"query": ids["search"]})
        out["search_none"] = await ok(client, "search_playbooks", {"query": "no-such-word-anywhere"})
        out["sql"] = await ok(client, "run_sql", {"sql": ids["sql"]})
        out["metrics"] = await ok(client, "get_metrics", {"to": to})
        out["bottlenecks"] = await ok(client, "get_bottlenecks", {"to": to})
        out["anomalies"] = await ok(client, "list_anomalies", {"to": to})
        out["compare"] = await ok(
            client, "compare_periods", {"from": ids["from"], "to": to, "versus_from": ids["versus_from"], "versus_to": to}
        )
        created = await ok(client, "create_process", {"playbook_id": ids["playbook"], "title": "Started over MCP"})
        check(created["instance"]["title"] == "Started over MCP", f"created: {created}")
        first = created["tasks"][0]
        assigned = await ok(client, "assign_task", {"task_id": first["id"], "assignee_id": "me"})
        check(assigned["assignee_id"] == ids["user"], f"assigned to me: {assigned}")
        completed = await ok(
            client, "complete_task", {"task_id": first["id"], "output": {"ok": True}, "expected_revision": assigned["revision"]}
        )
        check(completed["task"]["status"] == "completed", f"completed: {completed}")
        approval = completed["created"][0]
        out["created_id"] = created["instance"]["id"]
        out["completed"] = completed
        started = await ok(client, "start_task", {"task_id": approval["id"]})
        check(started["status"] == "started" and started["assignee_id"] == ids["user"], f"started: {started}")
        comment = await ok(
            client, "add_comment", {"process_id": created["instance"]["id"], "task_id": approval["id"], "body": "On it"}
        )
        check(comment["body"] == "On it" and comment["task_id"] == approval["id"], f"comment: {comment}")
        check(comment["edited_at"] is None, f"a new comment is not edited: {comment}")
        edited = await ok(client, "edit_comment", {"comment_id": comment["id"], "body": " On it now "})
        check(edited["body"] == "On it now" and edited["edited_at"] is not None, f"edited comment: {edited}")
        out["comment_id"] = comment["id"]
        typo = await ok(client, "add_comment", {"process_id": created["instance"]["id"], "body": "Oops"})
        deleted = await ok(client, "delete_comment", {"comment_id": typo["id"]})
        check(deleted == {"deleted": typo["id"]}, f"deleted comment: {deleted}")
        await fails(client, "delete_comment", {"comment_id": typo["id"]}, "not-found")
        out["settings"] = await ok(client, "organisation_settings", {})
        extra = await ok(client, "create_process", {"playbook_id": ids["playbook"], "title": "Cancelled over MCP"})
        cancelled = await ok(
            client,
            "cancel_process",
            {"process_id": extra["instance"]["id"], "reason": "a duplicate", "expected_revision": extra["instance"]["revision"]},
        )
        check(cancelled["status"] == "cancelled", f"cancelled: {cancelled}")
        out["cancelled_id"] = extra["instance"]["id"]
        detail = await read(client, f"playbook://{ids['scratch']}")
        main = next(b for b in detail["branches"] if b["name"] == "main")
        definition = dict(detail["head"]["definition"], description=f"Notes, edited over {config['transport']}")
        edited = await ok(
            client,
            "edit_playbook",
            {"playbook_id": ids["scratch"], "definition": definition, "message": "over MCP", "expected_revision": main["revision"]},
        )
        check(edited["head"]["number"] == detail["head"]["number"] + 1, f"edited: {edited['head']}")
        check(edited["head"]["message"] == "over MCP", f"the version's message: {edited['head']}")
        out["edited"] = edited
        out["tasks"] = await ok(client, "list_tasks", {})
        out["open_tasks"] = await ok(client, "list_tasks", {"status": ["open", "assigned"], "limit": 50})

        # Tools with invalid arguments: tool errors an agent can act on; the session goes on.
        await fails(client, "list_team_members", {"team": "x"}, "unknown field")
        await fails(client, "list_tasks", {"status": ["bogus"]}, "bogus")
        await fails(client, "list_tasks", {"limit": 0}, "limit")
        # No model is trained on this small history: forecasts say how to get one.
        await fails(client, "list_at_risk_cases", {}, "no-model")
        await fails(client, "predict_case", {"process_id": "nope"}, "not-found")
        await refused(client.read_resource("analytics://predictions"), "no-model", "predictions without a model")
        await fails(client, "list_tasks", {"cursor": "!!"}, "cursor")
        await fails(client, "get_process_status", {}, "process_id")
        await fails(client, "get_process_status", {"process_id": "nope"}, "not-found")
        await fails(client, "create_process", {"playbook_id": "nope"}, "not-found")
        await fails(client, "create_process", {"playbook_id": ids["playbook"], "input": [1]}, "input")
        await fails(client, "complete_task", {"task_id": "nope"}, "not-found")
        await fails(client, "complete_task", {"task_id": approval["id"]}, "decision")
        await fails(client, "complete_task", {"task_id": approval["id"], "decision": "maybe"}, "maybe")
        await fails(client, "assign_task", {"task_id": "nope", "assignee_id": "me"}, "not-found")
        await fails(client, "assign_task", {"task_id": approval["id"]}, "assignee_id")
        await fails(client, "search_playbooks", {"query": 5}, "expected a string")
        await fails(client, "start_task", {"task_id": "nope"}, "not-found")
        await fails(client, "cancel_process", {"process_id": extra["instance"]["id"]}, "invalid-transition")
        await fails(client, "add_comment", {"process_id": created["instance"]["id"], "body": "  "}, "body")
        await fails(client, "edit_comment", {"comment_id": comment["id"], "body": ""}, "body")
        await fails(client, "edit_playbook", {"playbook_id": ids["scratch"], "definition": {"steps": []}}, "invalid-definition")
        await fails(
            client,
            "edit_playbook",
            {"playbook_id": ids["scratch"], "definition": definition, "expected_revision": main["revision"]},
            "conflict",
        )
        await fails(client, "run_sql", {"sql": "DELETE FROM tasks"}, "not-read-only")
        await fails(client, "run_sql", {"sql": "select 1", "max_rows": 0}, "max_rows")
        await fails(client, "run_sql", {"sql": "select 1", "engine": "oracle"}, "engine")
        await fails(client, "get_metrics", {"to": "yesterday"}, "RFC 3339")
        await fails(client, "get_bottlenecks", {"playbook_id": "x' OR 1=1 --"}, "invalid-filter")
        await fails(client, "compare_periods", {"to": to}, "versus_from")
        await refused(client.call_tool("no_such_tool", {}), "not found", "unknown tool")
        check((await ok(client, "list_team_members", {}))["team"]["id"] == ids["team"], "the session still works")

        # Prompts, from the records.
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        check(set(prompts) == PROMPTS, f"prompts: {sorted(prompts)}")
        check([a.name for a in prompts["process_help"].arguments] == ["process_id"], "process_help's argument")
        text = await prompt_text(client, "process_help", {"process_id": out["created_id"]})
        check("Started over MCP" in text and "approve" in text, f"process_help: {text}")
        text = await prompt_text(client, "task_guidance", {"task_id": approval["id"]})
        check("approval" in text and "decision" in text, f"task_guidance: {text}")
        text = await prompt_text(client, "task_guidance", {"task_id": first["id"]})
        check('"ok"' in text and "JSON Schema" in text, f"task_guidance shows the form: {text}")
        text = await prompt_text(client, "analyze_bottlenecks", {})
        check("bottleneck" in text, f"analyze_bottlenecks: {text}")
        check("What is unusual (the anomalies report):" in text, f"analyze_bottlenecks: {text}")
        check("No forecasts: team " in text and "has no prediction model yet" in text, f"analyze_bottlenecks: {text}")
        await refused(client.get_prompt("process_help", {"process_id": "nope"}), "not-found", "missing process prompt")
    return out


async def second_team(config, first):
    """The other team's key sees none of the first team's records, through any tool or resource."""
    ids = config["ids"]
    out = {}
    async with connect(config, config["other_key"]) as client:
        members = await ok(client, "list_team_members", {})
        check(members["team"]["id"] == ids["other_team"], f"other team: {members['team']}")
        out["tasks"] = await ok(client, "list_tasks", {})
        check(out["tasks"]["items"] == [], f"the other team has no tasks: {out['tasks']}")
        check((await ok(client, "search_playbooks", {}))["playbooks"] == [], "no playbooks")
        sql = await ok(client, "run_sql", {"sql": "select count(*) as n from instances"})
        check(sql["rows"] == [{"n": 0}], f"no instances in SQL: {sql}")
        metrics = await ok(client, "get_metrics", {})
        check(metrics["statistics"]["cases"] == 0, f"no cases: {metrics}")
        for process in (ids["process"], first["created_id"]):
            await fails(client, "get_process_status", {"process_id": process}, "not-found")
        await fails(client, "create_process", {"playbook_id": ids["playbook"]}, "not-found")
        task = first["completed"]["created"][0]["id"]
        await fails(client, "complete_task", {"task_id": task, "decision": "approve"}, "not-found")
        await fails(client, "assign_task", {"task_id": task, "assignee_id": "me"}, "not-found")
        await fails(client, "start_task", {"task_id": task}, "not-found")
        await fails(client, "cancel_process", {"process_id": first["created_id"]}, "not-found")
        await fails(client, "add_comment", {"process_id": first["created_id"], "body": "hello"}, "not-found")
        await fails(client, "edit_comment", {"comment_id": first["comment_id"], "body": "mine now"}, "not-found")
        await fails(client, "delete_comment", {"comment_id": first["comment_id"]}, "not-found")
        scratch = {"steps": [{"key": "a", "name": "A", "kind": "form"}]}
        await fails(client, "edit_playbook", {"playbook_id": ids["scratch"], "definition": scratch}, "not-found")
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        check(listed == RESOURCES, f"only the fixed resources: {sorted(listed)}")
        for uri in (f"process://{ids['process']}", f"playbook://{ids['playbook']}"):
            await refused(client.read_resource(uri), "not-found", uri)
        active = await read(client, "processes://active")
        check(active["items"] == [], f"no active processes: {active}")
        team = await read(client, "team://current")
        check(team["team"]["id"] == ids["other_team"], f"team://current: {team}")
        await refused(client.get_prompt("process_help", {"process_id": ids["process"]}), "not-found", "process_help")
    return out


async def limited_key(config, first):
    """A key of the first team with `analytics.read` only: the same analytics, nothing else."""
    ids = config["ids"]
    async with connect(config, config["limited_key"]) as client:
        check(await ok(client, "get_metrics", {"to": ids["to"]}) == first["metrics"], "the same metrics")
        check(await ok(client, "get_bottlenecks", {"to": ids["to"]}) == first["bottlenecks"], "the same bottlenecks")
        task = first["completed"]["created"][0]["id"]
        await fails(client, "run_sql", {"sql": "select 1"}, "forbidden")
        await fails(client, "create_process", {"playbook_id": ids["playbook"]}, "forbidden")
        await fails(client, "complete_task", {"task_id": task, "decision": "approve"}, "forbidden")
        await fails(client, "assign_task", {"task_id": task, "assignee_id": "me"}, "forbidden")
        check((await ok(client, "list_team_members", {}))["team"]["id"] == ids["team"], "the session still works")


async def main():
    with open(sys.argv[1]) as f:
        config = json.load(f)
    first = await first_team(config)
    first["other"] = await second_team(config, first)
    await limited_key(config, first)
    print(json.dumps(first))


if __name__ == "__main__":
    asyncio.run(main())
