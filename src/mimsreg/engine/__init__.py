"""The registration engine: everything the pipeline step's processing job runs.

It imports only the standard library, boto3/botocore and itself, and runs on Python 3.9 (stock
SageMaker scikit-learn processing images): ``from __future__ import annotations``, no 3.10+
syntax or standard-library API at run time. The runtime bundle the pipeline step ships is exactly
this package (``mimsreg.pipeline.bundle``). Importing it imports nothing: each module is loaded
when used.
"""
