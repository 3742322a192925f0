-- The project's own runtime kept its membership here before Orleans; Orleans' table replaces it.
DROP TABLE IF EXISTS cluster_silos;
DROP TABLE IF EXISTS cluster_version;
