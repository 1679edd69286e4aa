//! The [`Journal`] trait: an append-only record of every step.

use crate::event::{Event, TaskId};
use async_trait::async_trait;
use std::path::PathBuf;
use std::sync::Arc;

/// Where events go. Appends are durable enough to read back at once.
///
/// ```
/// use agent_core::{async_trait, Journal};
/// use agent_core::event::{Event, TaskId};
/// use agent_core::journal::JournalError;
/// use std::sync::Mutex;
///
/// /// Counts events and keeps none.
/// #[derive(Default)]
/// struct Counter(Mutex<usize>);
///
/// #[async_trait]
/// impl Journal for Counter {
///     async fn append(&self, _event: Event) -> Result<(), JournalError> {
///         *self.0.lock().unwrap() += 1;
///         Ok(())
///     }
///     async fn events(&self, _task: &TaskId) -> Result<Vec<Event>, JournalError> {
///         Ok(Vec::new())
///     }
/// }
/// # let c = Counter::default();
/// # futures::executor::block_on(c.append(Event::now("t".into(),
/// #     agent_core::event::EventKind::BudgetStop { reason: "x".into() }))).unwrap();
/// # assert_eq!(*c.0.lock().unwrap(), 1);
/// ```
#[async_trait]
pub trait Journal: Send + Sync {
    /// Appends one event.
    async fn append(&self, event: Event) -> Result<(), JournalError>;
    /// Every event of `task`, in append order.
    async fn events(&self, task: &TaskId) -> Result<Vec<Event>, JournalError>;
}

#[async_trait]
impl<T: Journal + ?Sized> Journal for Arc<T> {
    async fn append(&self, event: Event) -> Result<(), JournalError> {
        (**self).append(event).await
    }
    async fn events(&self, task: &TaskId) -> Result<Vec<Event>, JournalError> {
        (**self).events(task).await
    }
}

#[async_trait]
impl<T: Journal + ?Sized> Journal for Box<T> {
    async fn append(&self, event: Event) -> Result<(), JournalError> {
        (**self).append(event).await
    }
    async fn events(&self, task: &TaskId) -> Result<Vec<Event>, JournalError> {
        (**self).events(task).await
    }
}

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Reading or writing the journal file failed.
    #[error("journal i/o on {}: {source}", path.display())]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A complete line of the journal is not an event.
    #[error("journal {} line {line} is not an event: {message}", path.display())]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// An event could not be serialised.
    #[error("cannot serialise event: {0}")]
    Serialize(String),
}
