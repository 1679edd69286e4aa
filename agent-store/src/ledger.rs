//! [`BudgetLedger`]: spend recorded per task, worker, repository and tenant,
//! with ceilings enforced atomically across every worker of every machine.
//!
//! A model call first [`reserve`](BudgetLedger::reserve)s an estimate: the
//! reservation is admitted only if, for each of the four scopes that has a
//! ceiling, `spent + estimate <= ceiling` — checked and added in one
//! transaction (a conditional `UPDATE … WHERE spent + $x <= ceiling` under
//! row locks on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so two workers
//! can never both take the last dollar. After the call,
//! [`settle`](BudgetLedger::settle) replaces the estimate with the real cost
//! and records the spend with its provider and model.
//!
//! The four scopes are updated in a fixed order (tenant, repository, worker,
//! task), so two reservations never wait on each other in a cycle; a scope
//! that refuses rolls the whole reservation back. Settling applies the
//! difference between the real cost and the estimate to every scope
//! unconditionally (the call happened, so its cost counts even past a
//! ceiling) and writes one `spend` row with the provider, model, tokens and
//! UTC day, which the cost queries group by. Settling and releasing work
//! from the stored reservation row (who it counts against, what it holds):
//! the caller only names it. A reservation made by a worker that holds its
//! task's lease remembers that lease; once the lease is dead (expired, or
//! the task no longer running under it), the reservation expires and its
//! amount is given back ([`Store::expire_reservations`], run before every
//! reserve and claim), so a worker that died mid-call does not hold budget
//! forever. A reservation carries an id
//! made by the client, so a `reserve` retried after a lost answer holds
//! nothing twice, and settling or releasing twice changes nothing. Money is
//! integer micro-dollars ([`Usd`]) in memory and in the tables.
//! [`LedgerGuard`](crate::LedgerGuard) does all this around a provider.
//!
//! ```
//! use agent_core::budget::Usd;
//! use agent_store::{BudgetLedger, Scope, Spend, SpendScopes, Store, StoreError};
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display())).await.unwrap();
//! store.set_ceiling(Scope::Tenant, "acme", Usd::from_dollars(1.00)).await.unwrap();
//! let scopes = SpendScopes::new("task-1", "worker-1", "repo", "acme");
//! let r = store.reserve(&scopes, Usd::from_dollars(0.75)).await.unwrap();
//! store.settle(&r, &Spend::new("openai", "gpt-4.1-mini", Usd::from_dollars(0.60), 1000, 200)).await.unwrap();
//! // 0.60 spent: another 0.50 would pass the ceiling and is refused.
//! assert!(matches!(store.reserve(&scopes, Usd::from_dollars(0.50)).await, Err(StoreError::BudgetExceeded { .. })));
//! # });
//! ```

use crate::store::{begin_write, on_pool};
use crate::{Store, StoreError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::fmt;

use agent_core::budget::Usd;

/// What a ceiling applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scope {
    /// One task.
    Task,
    /// One worker.
    Worker,
    /// One repository.
    Repo,
    /// One tenant.
    Tenant,
}

impl Scope {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::Worker => "worker",
            Self::Repo => "repo",
            Self::Tenant => "tenant",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who spends: the four keys a charge counts against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendScopes {
    /// The task.
    pub task: String,
    /// The worker.
    pub worker: String,
    /// The repository.
    pub repo: String,
    /// The tenant.
    pub tenant: String,
}

impl SpendScopes {
    /// The four keys.
    pub fn new(
        task: impl Into<String>,
        worker: impl Into<String>,
        repo: impl Into<String>,
        tenant: impl Into<String>,
    ) -> Self {
        Self { task: task.into(), worker: worker.into(), repo: repo.into(), tenant: tenant.into() }
    }

    /// `(scope, key)` pairs in the fixed order rows are locked in (so two
    /// transactions never wait on each other in a cycle).
    fn pairs(&self) -> [(Scope, &str); 4] {
        [
            (Scope::Tenant, self.tenant.as_str()),
            (Scope::Repo, self.repo.as_str()),
            (Scope::Worker, self.worker.as_str()),
            (Scope::Task, self.task.as_str()),
        ]
    }
}

/// What one model call cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Spend {
    /// The provider kind (`openai`).
    pub provider: String,
    /// The model.
    pub model: String,
    /// Cost in US dollars.
    pub cost_usd: Usd,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

impl Spend {
    /// A spend record.
    pub fn new(
        provider: impl Into<String>,
        model: impl Into<String>,
        cost_usd: Usd,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Self {
        Self { provider: provider.into(), model: model.into(), cost_usd, input_tokens, output_tokens }
    }
}

/// An admitted reservation, to settle or release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Its id.
    pub id: String,
    /// Who it counts against.
    pub scopes: SpendScopes,
    /// The amount held.
    pub amount: Usd,
}

/// Budget ceilings and spend, shared by all workers.
///
/// ```
/// use agent_store::{BudgetLedger, SpendScopes, Spend, StoreError};
/// /// Charges a call that already happened, refusing it past a ceiling.
/// async fn charge(l: &dyn BudgetLedger, who: &SpendScopes, s: &Spend) -> Result<(), StoreError> {
///     let r = l.reserve(who, s.cost_usd).await?;
///     l.settle(&r, s).await
/// }
/// # let dir = tempfile::tempdir().unwrap();
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = agent_store::Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display())).await.unwrap();
/// # charge(&store, &SpendScopes::new("t", "w", "r", "x"), &Spend::new("openai", "m", agent_core::budget::Usd::from_dollars(0.1), 1, 1)).await.unwrap();
/// # });
/// ```
#[async_trait]
pub trait BudgetLedger: Send + Sync {
    /// Sets (or replaces) the ceiling of `scope`/`key` in US dollars; what
    /// was already spent under it still counts.
    async fn set_ceiling(&self, scope: Scope, key: &str, ceiling: Usd) -> Result<(), StoreError>;
    /// Holds `estimate_usd` against every scope of `who`, or refuses with
    /// [`StoreError::BudgetExceeded`] (holding nothing) when any ceiling
    /// would be passed.
    async fn reserve(&self, who: &SpendScopes, estimate: Usd) -> Result<Reservation, StoreError>;
    /// Replaces the reservation with the real spend and records it;
    /// settling twice records it once. Only the reservation's id is read:
    /// the amount held and the scopes charged come from the stored row.
    /// Settling a reservation that expired (its worker's lease died)
    /// charges the whole cost, since the hold was already given back.
    /// [`StoreError::UnknownReservation`] when no such reservation exists.
    async fn settle(&self, reservation: &Reservation, spend: &Spend) -> Result<(), StoreError>;
    /// Gives the reservation back without recording spend (the call
    /// failed); like `settle`, it works from the stored row.
    async fn release(&self, reservation: &Reservation) -> Result<(), StoreError>;
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian, UTC).
pub(crate) fn day_of(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

impl Store {
    async fn reserve_once(&self, id: &str, who: &SpendScopes, amount: i64) -> Result<Reservation, StoreError> {
        let now = self.now_sql();
        let admit = "UPDATE budgets SET spent_micros = spent_micros + $3 WHERE scope = $1 AND key = $2 \
                     AND (ceiling_micros IS NULL OR spent_micros + $3 <= ceiling_micros)";
        // The reservation remembers the lease its task is running under (if
        // this worker holds one), so it expires when that lease dies.
        let insert = format!(
            "INSERT INTO reservations (id, task, worker, repo, tenant, amount_micros, created_ms, lease_token) \
             VALUES ($1, $2, $3, $4, $5, $6, {now}, \
               (SELECT t.lease_token FROM tasks t WHERE t.id = $2 AND t.worker = $3 AND t.state = 'running')) \
             ON CONFLICT (id) DO NOTHING"
        );
        let reservation = Reservation { id: id.to_owned(), scopes: who.clone(), amount: Usd::from_micros(amount) };
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p);
            let fresh = sqlx::query(&insert)
                .bind(id).bind(&who.task).bind(&who.worker).bind(&who.repo).bind(&who.tenant).bind(amount)
                .execute(&mut *tx).await?.rows_affected();
            if fresh == 0 {
                // A retry of a reservation that was admitted.
                tx.commit().await?;
                return Ok(reservation);
            }
            for (scope, key) in who.pairs() {
                sqlx::query("INSERT INTO budgets (scope, key, spent_micros) VALUES ($1, $2, 0) ON CONFLICT (scope, key) DO NOTHING")
                    .bind(scope.as_str()).bind(key).execute(&mut *tx).await?;
                let n = sqlx::query(admit).bind(scope.as_str()).bind(key).bind(amount)
                    .execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    let row = sqlx::query("SELECT ceiling_micros, spent_micros FROM budgets WHERE scope = $1 AND key = $2")
                        .bind(scope.as_str()).bind(key).fetch_one(&mut *tx).await?;
                    let ceiling: Option<i64> = row.try_get(0)?;
                    let spent: i64 = row.try_get(1)?;
                    tx.rollback().await?;
                    return Err(StoreError::BudgetExceeded {
                        scope,
                        key: key.to_owned(),
                        ceiling_usd: Usd::from_micros(ceiling.unwrap_or(0)),
                        spent_usd: Usd::from_micros(spent),
                        requested_usd: Usd::from_micros(amount),
                    });
                }
            }
            tx.commit().await?;
        });
        Ok(reservation)
    }

    /// Closes the reservation `id` as its row says (who, how much held),
    /// moving every scope by `actual - held`, and records `spend` when given.
    /// Does nothing if already closed; an expired reservation held nothing
    /// any more, so settling it charges the whole cost and releasing it
    /// does nothing.
    async fn close_reservation(&self, id: &str, spend: Option<&Spend>) -> Result<(), StoreError> {
        let now = self.now_sql();
        let select = match self.backend() {
            crate::Backend::Postgres => {
                "SELECT task, worker, repo, tenant, amount_micros, settled FROM reservations WHERE id = $1 FOR UPDATE"
            }
            crate::Backend::Sqlite => {
                "SELECT task, worker, repo, tenant, amount_micros, settled FROM reservations WHERE id = $1"
            }
        };
        let record = "INSERT INTO spend (reservation, task, worker, repo, tenant, provider, model, cost_micros, \
               input_tokens, output_tokens, at_ms, day) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (reservation) DO NOTHING";
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p);
            let Some(row) = sqlx::query(select).bind(id).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Err(StoreError::UnknownReservation { id: id.to_owned() });
            };
            let (who, amount) = held_by(&row)?;
            let settled: i64 = row.try_get("settled")?;
            let held = match (settled, spend) {
                (SETTLED, _) | (EXPIRED, None) => {
                    tx.rollback().await?;
                    return Ok(());
                }
                (EXPIRED, Some(_)) => 0,
                _ => amount,
            };
            let actual = spend.map_or(0, |s| s.cost_usd.micros().max(0));
            let delta = actual - held;
            sqlx::query("UPDATE reservations SET settled = 1 WHERE id = $1").bind(id).execute(&mut *tx).await?;
            for (scope, key) in who.pairs() {
                sqlx::query("UPDATE budgets SET spent_micros = spent_micros + $3 WHERE scope = $1 AND key = $2")
                    .bind(scope.as_str()).bind(key).bind(delta).execute(&mut *tx).await?;
            }
            if let Some(s) = spend {
                let at: i64 = sqlx::query(&format!("SELECT {now}")).fetch_one(&mut *tx).await?.try_get(0)?;
                sqlx::query(record)
                    .bind(id).bind(&who.task).bind(&who.worker).bind(&who.repo).bind(&who.tenant)
                    .bind(&s.provider).bind(&s.model).bind(actual)
                    .bind(i64::try_from(s.input_tokens).unwrap_or(i64::MAX))
                    .bind(i64::try_from(s.output_tokens).unwrap_or(i64::MAX))
                    .bind(at).bind(day_of(at))
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Expires the open reservations whose lease died (the task is no
    /// longer running under the lease they were made under, or that lease
    /// expired): each gives its amount back to its four scopes. Returns how
    /// many expired. [`reserve`](BudgetLedger::reserve) and
    /// [`claim`](crate::TaskQueue::claim) call this first, so a worker that
    /// died mid-call holds no budget past its lease.
    pub async fn expire_reservations(&self) -> Result<u64, StoreError> {
        let now = self.now_sql();
        let dead = format!(
            "SELECT r.id FROM reservations r WHERE r.settled = 0 AND r.lease_token IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = r.task AND t.lease_token = r.lease_token \
                             AND t.state = 'running' AND t.lease_expires_ms >= {now})"
        );
        let ids: Vec<String> = self
            .retry("expire_reservations", |_| async {
                on_pool!(self, p => Ok(sqlx::query(&dead).fetch_all(p).await?
                    .iter().map(|r| r.try_get(0)).collect::<Result<Vec<String>, _>>()?))
            })
            .await?;
        let mut expired = 0;
        for id in &ids {
            if self.retry("expire_reservation", |_| self.expire_one(id)).await? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Expires one reservation if it is still open; whether it did.
    async fn expire_one(&self, id: &str) -> Result<bool, StoreError> {
        let close = "UPDATE reservations SET settled = 2 WHERE id = $1 AND settled = 0 \
                     RETURNING task, worker, repo, tenant, amount_micros";
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p);
            let Some(row) = sqlx::query(close).bind(id).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Ok(false);
            };
            let (who, amount) = held_by(&row)?;
            for (scope, key) in who.pairs() {
                sqlx::query("UPDATE budgets SET spent_micros = spent_micros - $3 WHERE scope = $1 AND key = $2")
                    .bind(scope.as_str()).bind(key).bind(amount).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            tracing::info!(reservation = %id, task = %who.task, worker = %who.worker, "reservation of a dead lease expired");
        });
        Ok(true)
    }

    /// The ceiling of `scope`/`key` and what is spent or held under it;
    /// `None` when nothing was ever set or charged there.
    pub async fn budget(&self, scope: Scope, key: &str) -> Result<Option<Budget>, StoreError> {
        let sql = "SELECT ceiling_micros, spent_micros FROM budgets WHERE scope = $1 AND key = $2";
        self.retry("budget", |_| async {
            on_pool!(self, p => {
                let Some(row) = sqlx::query(sql).bind(scope.as_str()).bind(key).fetch_optional(p).await? else {
                    return Ok(None);
                };
                let ceiling: Option<i64> = row.try_get(0)?;
                let spent: i64 = row.try_get(1)?;
                Ok(Some(Budget { ceiling: ceiling.map(Usd::from_micros), spent: Usd::from_micros(spent) }))
            })
        })
        .await
    }
}

/// `reservations.settled`: settled or released.
const SETTLED: i64 = 1;
/// `reservations.settled`: expired with its lease; its amount was given back.
const EXPIRED: i64 = 2;

/// A budget scope's ceiling and use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Budget {
    /// The ceiling, if one is set.
    pub ceiling: Option<Usd>,
    /// Spent plus held by open reservations.
    pub spent: Usd,
}

#[async_trait]
impl BudgetLedger for Store {
    async fn set_ceiling(&self, scope: Scope, key: &str, ceiling: Usd) -> Result<(), StoreError> {
        let sql = "INSERT INTO budgets (scope, key, ceiling_micros, spent_micros) VALUES ($1, $2, $3, 0) \
                   ON CONFLICT (scope, key) DO UPDATE SET ceiling_micros = excluded.ceiling_micros";
        let micros = ceiling.micros().max(0);
        self.retry("set_ceiling", |_| async move {
            on_pool!(self, p => {
                sqlx::query(sql).bind(scope.as_str()).bind(key).bind(micros).execute(p).await?;
            });
            Ok(())
        })
        .await
    }

    async fn reserve(&self, who: &SpendScopes, estimate: Usd) -> Result<Reservation, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let amount = estimate.micros().max(0);
        // A dead worker's holds are given back before this one is admitted.
        self.expire_reservations().await?;
        self.retry("reserve", |_| self.reserve_once(&id, who, amount)).await
    }

    async fn settle(&self, reservation: &Reservation, spend: &Spend) -> Result<(), StoreError> {
        self.retry("settle", |_| self.close_reservation(&reservation.id, Some(spend))).await
    }

    async fn release(&self, reservation: &Reservation) -> Result<(), StoreError> {
        self.retry("release", |_| self.close_reservation(&reservation.id, None)).await
    }
}

/// The scopes and amount a `reservations` row holds (on either database).
fn held_by<R: Row>(row: &R) -> Result<(SpendScopes, i64), sqlx::Error>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let who = SpendScopes::new(
        row.try_get::<String, _>("task")?,
        row.try_get::<String, _>("worker")?,
        row.try_get::<String, _>("repo")?,
        row.try_get::<String, _>("tenant")?,
    );
    Ok((who, row.try_get("amount_micros")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_of_writes_the_utc_calendar_date() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
        assert_eq!(day_of(1_795_305_600_000 - 1), "2026-11-21");
    }
}
