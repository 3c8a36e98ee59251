"""Local stand-in for AWS Glue 5.0's ``awsgluedq`` package (Glue Data Quality): never deployed.

``from awsgluedq.transforms import EvaluateDataQuality`` as in Glue scripts; DQDL parsing in
:mod:`awsgluedq.dqdl`, evaluation on Spark DataFrames in :mod:`awsgluedq.evaluator`.
"""
from __future__ import annotations
