pub mod query_clients;
