"""One dynamic partition per extract; the key is the manifest's extract id."""

from dagster import DynamicPartitionsDefinition

EXTRACTS_PARTITION = "extracts"
extracts_partitions = DynamicPartitionsDefinition(name=EXTRACTS_PARTITION)

# Run tag: the SHA-256 of manifest.yml as the run found it at its start. Its ingest steps compare
# the manifest they read with it and refuse an edit made while the run was reading.
MANIFEST_SHA256_TAG = "complaints/manifest_sha256"
