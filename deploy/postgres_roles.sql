-- Server mode: the database and its two roles (docs/SERVER.md).
-- Run once per server as a superuser (or a role with CREATEROLE and CREATEDB), e.g.
--   psql "postgresql://postgres@db.example.org/postgres" -f deploy/postgres_roles.sql
-- and change the passwords. tests/test_postgres.py runs this very file.

-- The pipeline's role: owns the database, so it creates and owns raw, the build schemas, marts
-- and marts_previous. `complaints run --target postgres` connects as this role.
create role complaints_pipeline login password 'change-me-pipeline';
-- The analysts' role: a group role without login; it may read `marts` and nothing else. The
-- pipeline grants it USAGE and SELECT on each new publication before swapping it in, and takes
-- USAGE on `marts_previous` back.
create role complaints_analyst nologin;
create database complaints owner complaints_pipeline;

\connect complaints

-- Nobody but the owner may connect, create schemas or temporary tables, or use `public`.
revoke all on database complaints from public;
grant connect on database complaints to complaints_analyst;
revoke all on schema public from public;

-- One login per analyst, each a member of the analysts' role.
create role analyst_alice login password 'change-me-alice' in role complaints_analyst;
