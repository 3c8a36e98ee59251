"""Toy Glue job for the Step Functions tests: succeeds at once (no Spark)."""
print("ok job done")
