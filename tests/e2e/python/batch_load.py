"""Loads the bulk benchmark's items with the Python SDK's transactional batch (issue 12).

The Python SDK (azure-cosmos 4.x) has no bulk executor, only `execute_item_batch`: one atomic
batch of up to 100 operations per partition key. This script creates the same items as
`bulk_throughput` (`d{i}`, partition key `p{i % 200}`, ~250 bytes) as batches of 100 creates
per partition key, with THREADS batches in flight, and prints one JSON line: wall seconds,
client CPU seconds (getrusage of this process) and the number of batch requests.

usage: batch_load.py ENDPOINT KEY DATABASE CONTAINER ITEMS THREADS
"""
import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from azure.cosmos import CosmosClient, PartitionKey


def main():
    endpoint, key, db_name, coll_name = sys.argv[1:5]
    items, threads = int(sys.argv[5]), int(sys.argv[6])
    client = CosmosClient(endpoint, credential=key, connection_verify=False)
    db = client.get_database_client(db_name)
    container = db.create_container(id=coll_name, partition_key=PartitionKey(path="/pk"))
    by_pk = {}
    for i in range(items):
        pk = f"p{i % 200}"
        doc = {"id": f"d{i}", "pk": pk, "n": i, "pad": "x" * 200}
        by_pk.setdefault(pk, []).append(doc)
    batches = []
    for pk, docs in by_pk.items():
        for k in range(0, len(docs), 100):
            batches.append((pk, [("create", (d,)) for d in docs[k:k + 100]]))

    def run(batch):
        pk, ops = batch
        results = container.execute_item_batch(batch_operations=ops, partition_key=pk)
        if len(results) != len(ops):
            raise RuntimeError(f"{len(results)} results for {len(ops)} operations")

    # Warm the connection pool and the SDK's caches like the Rust rows do.
    container.create_item({"id": "warm", "pk": "warm"})
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(run, batches))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"wall": wall, "cpu": cpu, "batches": len(batches)}))


if __name__ == "__main__":
    main()
