"""What the MCP tests do: open a session on /mcp with a key, as an MCP host would, and call tools."""

from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def in_own_thread(coroutine_function):
    """anyio.run in a thread of its own: a browser test earlier in the session leaves Playwright's event loop
    running in this one, where anyio.run refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, coroutine_function).result()


def mcp_calls(live_server, key, *calls, headers=None):
    """Opens an MCP session on /mcp with this key, initializes it, makes the tool calls [(name, arguments)] in
    turn and answers their results. Each test step opens its own: the server keeps no session between requests."""
    return mcp_session_calls(live_server, calls, headers={"Authorization": f"Bearer {key}", **(headers or {})})


def mcp_session_calls(live_server, calls, **http_options):
    """The results of the tool calls [(name, arguments)], made in turn in a session on /mcp over an httpx client
    with these options: a key's headers, or an OAuth flow as its `auth`."""

    async def session():
        async with (
            httpx2.AsyncClient(timeout=60, **http_options) as http,
            streamable_http_client(f"{live_server.url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            return [await client.call_tool(name, arguments) for name, arguments in calls]

    return in_own_thread(session)
