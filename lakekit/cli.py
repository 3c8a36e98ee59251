"""``lakekit`` console script: ``lakekit local up|down|status|env``."""
from __future__ import annotations

import argparse
import json
import sys

from lakekit.exceptions import LakekitError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakekit", description="lakekit workshop kit")
    sub = parser.add_subparsers(dest="group", required=True)
    local = sub.add_parser("local", help="the embedded local AWS endpoint")
    local.add_argument("action", choices=["up", "down", "status", "env"])
    local.add_argument("--port", type=int, help="port (default: LAKEKIT_PORT or 4810)")
    local.add_argument("--json", action="store_true", help="status as JSON")
    args = parser.parse_args(argv)

    from lakekit import local as endpoint
    from lakekit.config import settings

    try:
        s = settings()
        if args.port:
            s = s.with_(port=args.port)
        s = s.with_(target="local")
        if args.action == "up":
            endpoint.up(s)
        elif args.action == "down":
            endpoint.down(s)
        elif args.action == "status":
            st = endpoint.status(s)
            print(json.dumps(st.as_dict()) if args.json else f"lakekit local endpoint {st}")
            return 0 if st.running else 3
        else:
            print(endpoint.env_exports(s))
    except LakekitError as exc:
        print(f"lakekit: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
