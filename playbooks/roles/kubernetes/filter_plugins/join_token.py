"""The join token a node is given, by its role (pure data, no host access).

The first server's `server/token` holds the server token in the secure format RKE2 and k3s
document: `K10<sha256 of the cluster's server CA>::server:<password>`. A joining server gets
it as it is. An agent gets the agent token in the same format, `K10<same hash>::node:<agent
password>`: it may join the cluster as a node and do nothing a server can. Either way the CA
hash makes the joining node check the server it reaches before it sends the credentials.
"""

from __future__ import annotations

import re
from typing import Any

SECURE = re.compile(r"^K10(?P<ca>[0-9a-f]{64})::server:(?P<password>\S+)$")


def join_token(server_token: str, role: str, agent_password: str) -> str:
    """The secure token for a joining `role` ('server' or 'agent')."""
    found = SECURE.match(server_token.strip())
    if not found:
        # Never echo the text: it is a credential.
        raise ValueError("the first server's server/token is not in the secure K10 format")
    if role == "server":
        return server_token.strip()
    if role != "agent":
        raise ValueError(f"no join token for role {role!r}")
    password = agent_password.strip()
    if not password or any(c.isspace() for c in password):
        raise ValueError("the agent token password is empty or holds whitespace")
    return f"K10{found['ca']}::node:{password}"


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"join_token": join_token}
