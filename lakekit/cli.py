"""``lakekit`` console script: ``lakekit local up|down|status|env``, ``lakekit aws preflight``, ``lakekit diagram``."""
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
    aws = sub.add_parser("aws", help="a real AWS account")
    aws.add_argument("action", choices=["preflight"],
                     help="check credentials, Lake Formation admin, defaults, permissions; estimate the cost")
    aws.add_argument("--region", help="region (default: LAKEKIT_REGION / AWS_REGION / us-east-1)")
    aws.add_argument("--prefix", help="resource prefix (default: LAKEKIT_PREFIX or lakekit)")
    pic = sub.add_parser("diagram", help="regenerate docs/architecture.svg and .png from the templates")
    pic.add_argument("--out", help="directory (default: docs/ of the kit)")
    pic.add_argument("--highlight", help="emphasise one part (ingest, etl, catalog, governance, query, ...)")
    args = parser.parse_args(argv)
    if args.group == "aws":
        return _aws(args)
    if args.group == "diagram":
        return _diagram(args)

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


def _aws(args: argparse.Namespace) -> int:
    """``lakekit aws preflight``: exit 0 when ready, 2 when an ACTION line says what to do."""
    from lakekit import preflight
    from lakekit.config import settings

    try:
        s = settings().with_(target="aws")
        if args.region:
            s = s.with_(region=args.region)
        if args.prefix:
            s = s.with_(prefix=args.prefix)
        report = preflight.run(s)
    except LakekitError as exc:
        print(f"lakekit: {exc}", file=sys.stderr)
        return 1
    print("ready for the workshop" if report.ok else "not ready: do what the ACTION lines say, then run "
          "`lakekit aws preflight` again")
    return 0 if report.ok else 2


def _diagram(args: argparse.Namespace) -> int:
    """``lakekit diagram``: write the picture of the lake, print the files written."""
    from lakekit import diagram

    try:
        kw = {"directory": args.out} if args.out else {}
        paths = diagram.save(**kw, highlight=args.highlight,
                             name=f"architecture-{args.highlight}" if args.highlight else "architecture")
    except LakekitError as exc:
        print(f"lakekit: {exc}", file=sys.stderr)
        return 1
    print("\n".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
