//! billingd end to end: real Postgres, the gateway simulator over HTTP, a manual clock.

mod support;

mod api_accounts;
mod api_body_limit;
mod api_concurrency;
mod api_misc;
mod api_subscriptions;
mod batching;
mod catch_up;
mod certitrade;
mod cli;
mod console;
mod console_browser;
mod declines;
mod docs_config;
mod faults;
mod image;
mod metrics;
mod no_nulls;
mod positions;
mod reconcile;
mod registration;
mod registration_payroc;
mod regressions;
mod replicas;
mod retention;
mod rotation;
mod schedules;
mod series;
mod series_migration;
mod suspension;
mod unknown_answers;
mod webhooks;
