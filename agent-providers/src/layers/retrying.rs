//! Which providers already retry on their own, so that a stack refuses to
//! put a second [`Retry`](super::Retry) around them (attempts would multiply).
//!
//! Two process-wide tables, both keyed so that no entry can be confused
//! with another live provider:
//! - providers built by a [`ProviderStack`](super::ProviderStack) that
//!   retries, by their `Arc` (a [`Weak`] is kept, so the allocation and its
//!   address stay reserved while the entry exists);
//! - cascades whose members retry, by the heap address of the cascade's own
//!   id string. Layers answer `id()` with a reference to the id of what they
//!   wrap, so a cascade is recognised under any number of layers; a cascade
//!   removes its entry when its id changes or when it is dropped, so the
//!   address is never stale.

use agent_core::LlmProvider;
use agent_core::provider::ProviderId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

static RETRYING: Mutex<Vec<Weak<dyn LlmProvider>>> = Mutex::new(Vec::new());
static CASCADES: Mutex<Option<HashMap<usize, Vec<ProviderId>>>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn thin(p: *const dyn LlmProvider) -> *const () {
    p.cast::<()>()
}

/// The key of a cascade id: the address of its (non-empty) string.
fn id_key(id: &ProviderId) -> Option<usize> {
    (!id.as_str().is_empty()).then(|| id.as_str().as_ptr() as usize)
}

/// Notes that `provider` retries on its own.
pub(crate) fn mark_retrying(provider: &Arc<dyn LlmProvider>) {
    let mut list = lock(&RETRYING);
    list.retain(|w| w.strong_count() > 0);
    list.push(Arc::downgrade(provider));
}

/// The providers inside `provider` that retry on their own: itself (when a
/// retrying stack built it), or the retrying members of the cascade it is
/// (or wraps). Empty when none is known to retry.
pub(crate) fn retrying_inside(provider: &Arc<dyn LlmProvider>) -> Vec<ProviderId> {
    let me = thin(Arc::as_ptr(provider));
    if lock(&RETRYING).iter().any(|w| w.strong_count() > 0 && thin(w.as_ptr()) == me) {
        return vec![provider.id().clone()];
    }
    cascade_retrying_members(provider.id())
}

/// The retrying members registered for the cascade whose id is `id` (the same string, not an equal one).
pub(crate) fn cascade_retrying_members(id: &ProviderId) -> Vec<ProviderId> {
    let Some(key) = id_key(id) else { return Vec::new() };
    lock(&CASCADES).as_ref().and_then(|m| m.get(&key).cloned()).unwrap_or_default()
}

/// Registers the cascade with id `id` and these retrying members (nothing when there are none).
pub(crate) fn register_cascade(id: &ProviderId, retrying_members: &[ProviderId]) {
    let Some(key) = id_key(id) else { return };
    if retrying_members.is_empty() {
        return;
    }
    lock(&CASCADES).get_or_insert_with(HashMap::new).insert(key, retrying_members.to_vec());
}

/// Removes the cascade with id `id`.
pub(crate) fn unregister_cascade(id: &ProviderId) {
    let Some(key) = id_key(id) else { return };
    if let Some(map) = lock(&CASCADES).as_mut() {
        map.remove(&key);
    }
}
