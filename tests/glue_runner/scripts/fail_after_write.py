"""Toy job that writes output locally, then fails: the run must upload nothing."""
import os
import sys

argv = sys.argv
out = argv[argv.index("--output") + 1]
os.makedirs(os.path.join(out, "part=a"), exist_ok=True)
with open(os.path.join(out, "part=a", "partial.txt"), "w") as fh:
    fh.write("partial output\n")
print("wrote partial output, now failing")
raise ValueError("toy failure: bad input value 42")
