"""The chaos mode itself: what it injects, reproducibly from its seed (no server needed)."""

import os
import random
import subprocess
import sys
from pathlib import Path

from local_runtime.chaos import Chaos, deliver_with_chaos

ROOT = Path(__file__).resolve().parents[2]


def record(key: str, sequence: int) -> dict:
    return {"dynamodb": {"Keys": {"pk": {"S": key}}, "SequenceNumber": str(sequence)}}


def test_a_batch_is_split_by_item_reordered_across_items_kept_in_order_per_item_and_sometimes_redelivered():
    records = [record(f"item-{n % 5}", n) for n in range(40)]
    orders, duplicates = set(), 0
    for seed in range(20):
        delivered: list[list[dict]] = []
        deliver_with_chaos(Chaos(seed), random.Random(seed), records, delivered.append)
        flat = [r for part in delivered for r in part]
        duplicates += len(flat) > len(records)
        first = flat[: len(records)] if len(flat) == len(records) else [r for part in delivered[:-1] for r in part]
        orders.add(tuple(r["dynamodb"]["SequenceNumber"] for r in first))
        for key in {f"item-{n}" for n in range(5)}:  # per item, the stream's order holds
            sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in first if r["dynamodb"]["Keys"]["pk"]["S"] == key]
            assert sequences == sorted(sequences)
    assert len(orders) > 1  # across items, the order changes
    assert 0 < duplicates < 20  # some batches come twice


def test_in_a_worker_transactions_meet_conflicts_and_index_reads_lag():
    script = """
import boto3
from botocore.exceptions import ClientError
from local_runtime.chaos import install_in_worker
from moto import mock_aws
with mock_aws():  # moto replaces boto3's default session: install after it, as a worker does before its handler
    install_in_worker()
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    import datetime
    conflicts = 0
    for n in range(100):
        now = datetime.datetime.now(datetime.UTC).isoformat()
        try:
            client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {
                "pk": {"S": f"k{n}"}, "g": {"S": "x"}, "created_at": {"S": now}}}}])
        except ClientError as error:
            assert "TransactionConflict" in str(error)
            conflicts += 1
    lagging = client.query(TableName="t", IndexName="gsi", KeyConditionExpression="g = :g",
                           ExpressionAttributeValues={":g": {"S": "x"}})["Count"]
    base = client.get_item(TableName="t", Key={"pk": {"S": "k0"}}).get("Item") or client.get_item(
        TableName="t", Key={"pk": {"S": "k1"}}).get("Item")
    print(conflicts, lagging, base is not None)
"""
    env = {**os.environ, "LOCAL_CHAOS_SEED": "7", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    conflicts, lagging, base_reads = result.stdout.split()
    assert 0 < int(conflicts) < 40  # a fraction of the transactions
    assert int(lagging) < 100 - int(conflicts)  # the latest writes: the index does not show them yet
    assert base_reads == "True"  # the table does
