//! [`MemoryJournal`]: a journal held in memory, for tests and short-lived hosts.

use agent_core::Journal;
use agent_core::event::{Event, TaskId};
use agent_core::journal::JournalError;
use async_trait::async_trait;
use std::sync::Mutex;

/// Keeps every event in memory.
///
/// ```
/// use agent_core::event::{Event, EventKind, TaskId};
/// use agent_core::Journal;
/// use agent_loop::MemoryJournal;
/// let j = MemoryJournal::default();
/// futures::executor::block_on(j.append(Event::now(TaskId::new("t"),
///     EventKind::BudgetStop { reason: "cost".into() }))).unwrap();
/// assert_eq!(j.all().len(), 1);
/// ```
#[derive(Debug, Default)]
pub struct MemoryJournal {
    events: Mutex<Vec<Event>>,
}

impl MemoryJournal {
    /// Every event of every task, in append order.
    pub fn all(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }
}

#[async_trait]
impl Journal for MemoryJournal {
    async fn append(&self, event: Event) -> Result<(), JournalError> {
        match self.events.lock() {
            Ok(mut events) => events.push(event),
            Err(poisoned) => poisoned.into_inner().push(event),
        }
        Ok(())
    }

    async fn events(&self, task: &TaskId) -> Result<Vec<Event>, JournalError> {
        Ok(self.all().into_iter().filter(|e| &e.task == task).collect())
    }
}
