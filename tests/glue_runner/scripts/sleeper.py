"""Toy job that writes output locally, then sleeps (for stop / concurrency / restart)."""
import os
import sys
import time

argv = sys.argv
out = argv[argv.index("--output") + 1]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "early.txt"), "w") as fh:
    fh.write("written before the stop\n")
print("sleeping", flush=True)
time.sleep(float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else 600)
print("woke up")
