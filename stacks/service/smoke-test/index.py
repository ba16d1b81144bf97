"""Smoke test of the service: request its health endpoint, record 1 (healthy) or 0 as a metric."""

import os
import urllib.request

import boto3

cloudwatch = boto3.client("cloudwatch")


def handler(event, context):
    url = os.environ["HEALTH_URL"]
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            healthy = 200 <= response.status < 300
    except OSError:
        healthy = False
    cloudwatch.put_metric_data(
        Namespace=os.environ["METRIC_NAMESPACE"],
        MetricData=[{
            "MetricName": "Healthy",
            "Dimensions": [{"Name": "Service", "Value": os.environ["SERVICE_NAME"]}],
            "Value": 1.0 if healthy else 0.0,
            "Unit": "Count",
        }],
    )
    return {"healthy": healthy}
