//! One module per command; `run` dispatches.

mod backup;
mod config;
mod export;
mod import;
mod item;
mod monitor;
mod query;
mod throughput;

use clap::ArgMatches;
use sextant_blocking::models::{ContainerReference, DatabaseReference};
use sextant_blocking::{CosmosDriver, CosmosDriverRuntime, DriverOptions};

use crate::args::Command;
use crate::config::Settings;
use crate::failure::{CliError, Exit};
use crate::output::Output;

/// What every command gets: the settings, the output, and a driver made on first use.
pub struct Context {
    /// The resolved configuration.
    pub settings: Settings,
    /// Where results go.
    pub output: Output,
    runtime: Option<CosmosDriverRuntime>,
}

impl Context {
    /// A driver for the configured account, with `options` (the default when `None`).
    pub fn driver_with(
        &mut self,
        options: Option<DriverOptions>,
    ) -> Result<CosmosDriver, CliError> {
        let account = self.settings.account()?.reference()?;
        let runtime = match self.runtime.take() {
            Some(r) => r,
            None => {
                let mut builder = CosmosDriverRuntime::builder()
                    .emulator_server_cert_validation_disabled(self.settings.accept_emulator_cert);
                if let Some(o) = options {
                    builder = builder.driver_options(o);
                }
                builder.build()?
            }
        };
        let driver = runtime.get_or_create_driver(account, None)?;
        self.runtime = Some(runtime);
        Ok(driver)
    }

    /// A driver with the default options.
    pub fn driver(&mut self) -> Result<CosmosDriver, CliError> {
        self.driver_with(None)
    }

    /// The configured database.
    pub fn database(&self, driver: &CosmosDriver) -> Result<DatabaseReference, CliError> {
        Ok(DatabaseReference::from_name(
            driver.account().clone(),
            self.settings.database()?,
        ))
    }

    /// The configured container.
    pub fn container(&self, driver: &CosmosDriver) -> Result<ContainerReference, CliError> {
        Ok(ContainerReference::from_name(
            driver.account().clone(),
            self.settings.database()?,
            self.settings.container()?,
        ))
    }

    /// The typed client of the configured container.
    pub fn container_client(
        &self,
        driver: &CosmosDriver,
    ) -> Result<sextant_blocking::ContainerClient, CliError> {
        Ok(driver
            .database(self.settings.database()?)
            .container(self.settings.container()?))
    }
}

/// Runs `command`; `matches` are the parsed arguments (for the order of patch operations).
pub fn run(
    command: Command,
    matches: &ArgMatches,
    settings: Settings,
    output: Output,
) -> Result<Exit, CliError> {
    let mut cx = Context {
        settings,
        output,
        runtime: None,
    };
    match command {
        Command::Query(a) => query::run(&mut cx, a),
        Command::Get(a) => item::get(&mut cx, a),
        Command::Put(a) => item::put(&mut cx, a),
        Command::Patch(a) => {
            let sub = matches.subcommand_matches("patch");
            item::patch(&mut cx, a, sub)
        }
        Command::Rm(a) => item::rm(&mut cx, a),
        Command::Import(a) => import::run(&mut cx, a),
        Command::Export(a) => export::run(&mut cx, a),
        Command::Backup(a) => backup::backup(&mut cx, a),
        Command::Restore(a) => backup::restore(&mut cx, a),
        Command::Throughput(a) => throughput::run(&mut cx, a),
        Command::Monitor(a) => monitor::run(&mut cx, a),
        Command::Config => config::run(&cx),
    }
}
