"""One dynamic partition per extract; the key is the manifest's extract id."""

from dagster import DynamicPartitionsDefinition

EXTRACTS_PARTITION = "extracts"
extracts_partitions = DynamicPartitionsDefinition(name=EXTRACTS_PARTITION)
