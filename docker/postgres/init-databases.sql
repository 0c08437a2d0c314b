-- Run once by the postgres image on its first start (/docker-entrypoint-initdb.d), as POSTGRES_USER.
-- One database per carbonid service: each service keeps its own tables and migration history, and two
-- nodes must never share a database (a node owns every table of its database).
CREATE DATABASE registry;
CREATE DATABASE node_smelter;
CREATE DATABASE node_automaker;
CREATE DATABASE resolver;
