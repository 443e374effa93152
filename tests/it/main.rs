//! Every integration test of jitdesk, in one binary: each module was a test binary of its own, and
//! linking the crate and its dependencies once instead of once per file is what keeps `cargo test`
//! quick. The helpers they share live once, in `tests/common`.
//!
//! Tests run in parallel threads of one process here, so none may change what the whole process
//! shares (environment, umask, signal dispositions, child subreaping): a test that needs that runs
//! in a process of its own (`common::alone`).

#[path = "../common/mod.rs"]
mod common;

mod api_doc;
mod arm_documents;
mod arm_routes;
mod backup;
mod bad_input;
mod cli_approvals;
mod cli_arm;
mod cli_bulk;
mod cli_deliveries;
mod cli_errors;
mod cli_export;
mod cli_extensions;
mod cli_fuzz;
mod cli_groups;
mod cli_identity;
mod cli_lists;
mod cli_manual;
mod cli_object_ids;
mod cli_store;
mod cli_store_copy;
mod cli_tenants;
mod cli_times;
mod cli_workflow;
mod client_app_views;
mod client_failover;
mod client_service;
mod dashboard_e2e;
mod dashboard_escapes;
mod dashboard_hangup;
mod dashboard_notices;
mod dashboard_outbound;
mod dashboard_remote;
mod dashboard_service;
mod dashboard_snapshots;
mod dashboard_ssh;
mod dashboard_terminals;
mod dashboard_tour;
mod deliveries_end_to_end;
mod doors_parity;
mod engine_deliveries;
mod engine_extensions;
mod engine_groups;
mod engine_identity;
mod engine_licence;
mod engine_limits;
mod engine_model;
mod engine_notices;
mod engine_outbox;
mod engine_rules;
mod engine_scope;
mod faults;
mod ha_failover;
mod https_door;
mod https_tokens;
mod notify_hook;
mod notify_mail;
mod notify_webhook;
mod remote_guide;
mod replicas;
mod request_limits;
mod rule_words;
mod sample;
mod security_model;
mod service_api;
mod service_bad_input;
mod service_config;
mod service_fairness;
mod service_fuzz;
mod service_identity;
mod service_os_users;
mod socket_trust;
mod ssh_door;
mod ssh_identity;
mod storage_conformance;
mod store_files;
mod store_indexes;
mod store_maintenance;
mod store_postgres;
mod store_schema;
mod store_urls;
