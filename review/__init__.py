"""Code that runs inside the stack pipelines, as the Lambda function they invoke.

It imports only the standard library, boto3 and botocore (a test enforces it), so its zip stays
small and its cold start fast. The generator packs this package into a deterministic zip
(generator/bootstrap/functions.py); ``changegate deploy`` uploads it to the staging bucket under a
content-addressed key, so a change to this code is a change to the bootstrap template.
"""
