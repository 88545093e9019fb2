"""Run a FakeOkta in its own process, so the client under test has the CPU to itself.

Prints one JSON line ``{"url": ..., "token": ..., "apps": [[id, name], ...]}`` and serves
until stdin closes. Stats: ``GET /__stats`` is not served; counts come back on stdout as a
second JSON line when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from okta_connections.testing import FakeOkta


async def main(kwargs: dict[str, Any]) -> None:
    token_apps = int(kwargs.pop("token_apps", 0))
    async with FakeOkta(**kwargs) as fake:
        # Apps with a token connection come first, so that every one can be activated.
        first = [fake.add_app("okta_org2org", connection="token") for _ in range(token_apps)]
        rest = [a for a in fake.apps if a not in first]
        apps = [[a.id, a.name] for a in first + rest]
        print(json.dumps({"url": fake.org_url, "token": fake.token, "apps": apps}), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        statuses: dict[str, int] = {}
        for r in fake.requests:
            statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
        print(json.dumps({"requests": len(fake.requests), "statuses": statuses}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
