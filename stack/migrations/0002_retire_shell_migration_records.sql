-- Migrations were once recorded by the stack's shell scripts in this table; sqlx records them in
-- _sqlx_migrations now.
DROP TABLE IF EXISTS sluice_schema_migrations;
