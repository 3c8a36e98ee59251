"""Toy Glue job for the Step Functions tests: fails at once with a known exception (no Spark)."""
raise ValueError("bad input row 7")
