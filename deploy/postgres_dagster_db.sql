-- Dagster's instance database, owned by the pipeline's role (deploy/dagster.yaml points at it).
create database dagster owner complaints_pipeline;
