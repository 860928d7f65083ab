//! `kubectl ferry`: the kubectl plugin a person uses every day with Ferry. Commands read
//! Ferry's objects with ferry-api's types; what they compute (health, tables, migration,
//! checks) are pure functions with unit tests, and the modules named for each command do
//! the API calls.
#![forbid(unsafe_code)]

pub mod cli;
pub mod client;
pub mod copies;
pub mod doctor;
pub mod error;
pub mod events;
pub mod health;
pub mod migrate;
pub mod objects;
pub mod output;
pub mod pods;
pub mod restore;
pub mod status;
pub mod sync;
pub mod table;

#[cfg(test)]
mod test_support;

pub use error::{Error, Result};
