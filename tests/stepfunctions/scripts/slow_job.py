"""Toy Glue job for the Step Functions tests: runs until stopped (at most 300 s; no Spark)."""
import time

time.sleep(300)
