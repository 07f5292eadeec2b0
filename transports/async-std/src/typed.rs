//! The typed layer on this transport: `driver.database(id).container(id)` (written once for the
//! async transports in `sextant_host::typed`).

use std::future::Future;

use sextant_core::models::AccountReference;
use sextant_core::{CosmosError, CosmosOperation, CosmosResponse, OperationOptions, QueryPage};

use crate::driver::CosmosDriver;
use crate::query::QueryPager;

/// A database of a [`CosmosDriver`].
pub type DatabaseClient = sextant_host::typed::DatabaseClient<CosmosDriver>;
/// A container of a [`DatabaseClient`]: item operations on serde types.
pub type ContainerClient = sextant_host::typed::ContainerClient<CosmosDriver>;
/// A typed query of a [`ContainerClient`].
pub type TypedQuery<T> = sextant_host::typed::TypedQuery<CosmosDriver, T>;
/// The rows of a [`TypedQuery`].
pub type TypedItems<T> = sextant_host::typed::TypedItems<QueryPager, T>;

impl CosmosDriver {
    /// A client for database `id` (no request is made).
    pub fn database(&self, id: &str) -> DatabaseClient {
        DatabaseClient::new(self.clone(), id)
    }
}

impl sextant_host::typed::TypedDriver for CosmosDriver {
    type Pager = QueryPager;

    fn account(&self) -> &AccountReference {
        CosmosDriver::account(self)
    }

    fn run(
        &self,
        op: CosmosOperation,
        opts: Option<OperationOptions>,
    ) -> impl Future<Output = Result<CosmosResponse, CosmosError>> {
        self.execute_operation(op, opts)
    }

    fn pager(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
    ) -> Result<QueryPager, CosmosError> {
        self.query(op, Some(opts))
    }
}

impl sextant_host::typed::TypedPager for QueryPager {
    fn next_page(&mut self) -> impl Future<Output = Option<Result<QueryPage, CosmosError>>> {
        QueryPager::next_page(self)
    }
}
