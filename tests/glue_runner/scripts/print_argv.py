"""Toy job: prints what the runner passed it (sys.argv[1:] as --key value pairs, JSON) and a
line on stderr; no Spark."""
import json
import sys

pairs = sys.argv[1:]
print("ARGV " + json.dumps(dict(zip(pairs[::2], pairs[1::2], strict=True)), sort_keys=True))
print("a line on stderr", file=sys.stderr)
print("25/01/02 10:00:00 WARN SparkLike: a log4j line", file=sys.stderr)
