//! `agentctl merge ID --store URL` after real `agentctl worker` runs, as a
//! black box: two workers finish two tasks at once in two worktrees of one
//! real git repository (a Python project whose pytest suite each run and
//! each merge re-runs); the first task's merge fast-forwards `main`, the
//! second rebases onto that merge and lands on top of it. The state
//! machine refuses a merge of a task that has not run and a second merge
//! of a merged task, and the store's record shows the merge. The model is
//! scripted (a wiremock server speaking the OpenAI wire format on
//! loopback, answering per task by the goal in the request).

use crate::support::{agentctl, git, openai_tool_call as tool_call, stdout_json as json};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Output, Stdio};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const DISCOUNT_GOAL: &str = "Add shop/discount.py with discount(price, pct): price lowered by pct percent, tested.";
const TAX_GOAL: &str = "Add shop/tax.py with with_tax(price, rate): price raised by rate percent, tested.";

/// A Python project on `main` whose suite passes, with its identity in the
/// repository's configuration (shared by its worktrees) and a `.gitignore`
/// for the caches pytest writes, as real projects have.
fn shop_repo(root: &Path) {
    std::fs::create_dir_all(root.join("shop")).unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        "[project]\nname = \"shop\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
    )
    .unwrap();
    std::fs::write(root.join(".gitignore"), "__pycache__/\n.pytest_cache/\n").unwrap();
    std::fs::write(root.join("shop/__init__.py"), "").unwrap();
    std::fs::write(root.join("shop/price.py"), "def total(prices):\n    return sum(prices)\n").unwrap();
    std::fs::write(
        root.join("tests/test_price.py"),
        "from shop.price import total\n\n\ndef test_total():\n    assert total([1, 2, 3]) == 6\n",
    )
    .unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "user"]);
    git(root, &["config", "user.email", "user@example.invalid"]);
    git(root, &["config", "commit.gpgsign", "false"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "shop"]);
}

/// The scripted model: per task (told apart by the goal in the request),
/// the Nth turn (the number of tool results so far) gets the Nth reply.
struct PerGoal;

impl Respond for PerGoal {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let text = body.to_string();
        let turn = body["messages"].as_array().map_or(0, |m| m.iter().filter(|m| m["role"] == "tool").count());
        let (module, test) = if text.contains("shop/discount.py") {
            (
                ("shop/discount.py", "def discount(price, pct):\n    return price * (100 - pct) / 100\n"),
                (
                    "tests/test_discount.py",
                    "from shop.discount import discount\n\n\ndef test_discount():\n    assert discount(200, 25) == 150\n",
                ),
            )
        } else {
            (
                ("shop/tax.py", "def with_tax(price, rate):\n    return price * (100 + rate) / 100\n"),
                (
                    "tests/test_tax.py",
                    "from shop.tax import with_tax\n\n\ndef test_with_tax():\n    assert with_tax(200, 10) == 220\n",
                ),
            )
        };
        let reply = match turn {
            0 => tool_call(1, "write_file", json!({ "path": module.0, "content": module.1 })),
            1 => tool_call(2, "write_file", json!({ "path": test.0, "content": test.1 })),
            _ => tool_call(3, "finish", json!({ "summary": format!("Added {} and its test.", module.0) })),
        };
        ResponseTemplate::new(200).set_body_json(reply)
    }
}

fn store_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("store.db").display())
}

fn enqueue(store: &str, work: &Path, id: &str, goal: &str) {
    let out = agentctl()
        .args(["enqueue", "--store", store, "--dir", work.to_str().unwrap(), "--goal", goal, "--id", id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

fn merge(store: &str, id: &str) -> Output {
    agentctl().args(["merge", id, "--store", store, "--target", "main", "--json"]).output().unwrap()
}

/// Merges store task `id` into `main` (exit 0, outcome `merged`) and
/// returns the commit, checked to be `main`'s head in `repo`.
fn merged_into_main(store: &str, id: &str, repo: &Path) -> String {
    let out = merge(store, id);
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(0), "{doc:#}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(doc["report"]["outcome"], "merged", "{doc:#}");
    let head = git(repo, &["rev-parse", "main"]).trim().to_owned();
    assert_eq!(doc["report"]["commit"].as_str(), Some(head.as_str()));
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_finish_tasks_on_one_repository_and_the_second_merge_rebases_onto_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("shop");
    shop_repo(&repo);
    let base = git(&repo, &["rev-parse", "main"]).trim().to_owned();
    let (wt_a, wt_b) = (dir.path().join("wt-a"), dir.path().join("wt-b"));
    git(&repo, &["worktree", "add", "-q", "-b", "task-a", wt_a.to_str().unwrap(), "main"]);
    git(&repo, &["worktree", "add", "-q", "-b", "task-b", wt_b.to_str().unwrap(), "main"]);
    let store = store_url(dir.path());
    enqueue(&store, &wt_a, "a", DISCOUNT_GOAL);
    enqueue(&store, &wt_b, "b", TAX_GOAL);

    // Not run yet: the state machine refuses to merge, with the reason.
    let early = merge(&store, "a");
    assert_eq!(early.status.code(), Some(1), "{}", String::from_utf8_lossy(&early.stderr));
    let doc = json(&early);
    assert_eq!((doc["applied"].clone(), doc["refused"]["state"].clone()), (json!(false), json!("queued")));
    assert_eq!(git(&repo, &["rev-parse", "main"]).trim(), base);

    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(PerGoal).mount(&server).await;
    let spec = format!("openai:gpt-4.1-mini@{}/v1", server.uri());
    let workers: Vec<_> = ["w1", "w2"]
        .into_iter()
        .map(|name| {
            agentctl()
                .env("OPENAI_API_KEY", "sk-test")
                .args(["worker", "--store", &store, "--name", name, "--max-tasks", "1", "--drain"])
                .args(["--provider", &spec, "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut accepted = Vec::new();
    for worker in workers {
        let out = tokio::task::spawn_blocking(move || worker.wait_with_output().unwrap()).await.unwrap();
        let report = json(&out);
        assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", String::from_utf8_lossy(&out.stderr));
        for t in report["tasks"].as_array().unwrap() {
            assert_eq!(t["outcome"], "accepted", "{report:#}");
            accepted.push(t["task"].as_str().unwrap().to_owned());
        }
    }
    accepted.sort();
    assert_eq!(accepted, ["a", "b"], "each worker finished one task");
    assert_eq!(git(&repo, &["rev-parse", "main"]).trim(), base, "nothing lands before a merge");

    // The first merge fast-forwards main to the first change.
    let a_commit = merged_into_main(&store, "a", &repo);
    assert_eq!(git(&repo, &["rev-parse", &format!("{a_commit}^")]).trim(), base);

    // The second rebases onto the first's merge, re-runs the suite (now
    // with the first task's test too) and lands on top of it.
    let b_commit = merged_into_main(&store, "b", &repo);
    assert_eq!(git(&repo, &["rev-parse", &format!("{b_commit}^")]).trim(), a_commit, "b sits on a's merge");
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "main"]);
    let files: Vec<&str> = files.lines().collect();
    assert_eq!(
        files,
        [
            ".gitignore",
            "pyproject.toml",
            "shop/__init__.py",
            "shop/discount.py",
            "shop/price.py",
            "shop/tax.py",
            "tests/test_discount.py",
            "tests/test_price.py",
            "tests/test_tax.py"
        ],
        "both changes and nothing else (no cache) are on main"
    );
    let b_files = git(&repo, &["diff-tree", "--no-commit-id", "--name-only", "-r", &b_commit]);
    assert_eq!(b_files.lines().collect::<Vec<_>>(), ["shop/tax.py", "tests/test_tax.py"]);
    // The user's own checkout of main followed both merges.
    assert_eq!(git(&repo, &["status", "--porcelain"]), "", "the checkout of main shows no change");
    assert!(repo.join("shop/tax.py").is_file() && repo.join("shop/discount.py").is_file());

    // The store's record: b's journal has its rebase onto a's commit, the
    // gates re-run and passing, and the merge; both tasks are now merged.
    let shown = agentctl().args(["task", "show", "b", "--store", &store, "--json"]).output().unwrap();
    let shown = json(&shown);
    assert_eq!(shown["merged"], true, "{shown:#}");
    assert_eq!(shown["merge"]["type"], "merged");
    assert_eq!(shown["merge"]["commit"].as_str(), Some(b_commit.as_str()));
    let events = shown["events"].as_array().unwrap();
    let rebased_onto_a = events.iter().any(|e| e["type"] == "rebased" && e["onto"] == a_commit.as_str());
    assert!(rebased_onto_a, "b was rebased onto a's merge commit {a_commit}: {events:#?}");
    assert!(events.iter().any(|e| e["type"] == "gates_rerun" && e["passed"] == true), "{events:#?}");
    let merge_control =
        events.iter().any(|e| e["type"] == "operator_control" && e["action"] == "merge" && e["to_state"] == "done");
    assert!(merge_control, "the state machine's merge control is journaled: {events:#?}");

    // Merged: a second merge and a retry are refused with the reason.
    let again = merge(&store, "a");
    assert_eq!(again.status.code(), Some(1));
    let doc = json(&again);
    assert_eq!(doc["refused"]["state"], "merged");
    assert_eq!(doc["refused"]["reason"], "it is already merged into its target");
    let retry = agentctl().args(["task", "retry", "a", "--store", &store, "--json"]).output().unwrap();
    assert_eq!(retry.status.code(), Some(1));
    assert_eq!(json(&retry)["refused"]["state"], "merged");
    assert_eq!(git(&repo, &["rev-parse", "main"]).trim(), b_commit, "refusals leave main alone");
}

const ORDER_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "id": { "type": "string" },
    "total": { "type": "number" }
  },
  "required": ["id", "total"]
}
"#;

/// The order schema with `total` renamed to `amount`: a breaking change
/// (a removed property, a new required one) for every client.
const RENAMED_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "id": { "type": "string" },
    "amount": { "type": "number" }
  },
  "required": ["id", "amount"]
}
"#;

/// The scripted model of the contract test: rewrites the schema, then finishes.
struct RenamesTotal;

impl Respond for RenamesTotal {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let turn = body["messages"].as_array().map_or(0, |m| m.iter().filter(|m| m["role"] == "tool").count());
        let reply = if turn == 0 {
            tool_call(1, "write_file", json!({ "path": "schemas/order.schema.json", "content": RENAMED_SCHEMA }))
        } else {
            tool_call(2, "finish", json!({ "summary": "Renamed total to amount." }))
        };
        ResponseTemplate::new(200).set_body_json(reply)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_naming_the_contract_gate_fails_an_undeclared_schema_break_and_merges_a_declared_one() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("shop");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(repo.join("schemas")).unwrap();
    std::fs::write(repo.join("schemas/order.schema.json"), ORDER_SCHEMA).unwrap();
    shop_repo(&repo);
    let (wt_a, wt_b) = (dir.path().join("wt-a"), dir.path().join("wt-b"));
    git(&repo, &["worktree", "add", "-q", "-b", "task-a", wt_a.to_str().unwrap(), "main"]);
    git(&repo, &["worktree", "add", "-q", "-b", "task-b", wt_b.to_str().unwrap(), "main"]);
    let store = store_url(dir.path());
    let spec = |declared: &[&str]| {
        json!({
            "problem": "Rename the order's `total` to `amount` in schemas/order.schema.json.",
            "acceptance_criteria": [
                { "id": "clients", "description": "no client of the order schema breaks", "gate": "contract" }
            ],
            "breaking_changes": declared,
        })
    };
    for (id, work, declared) in [("a", &wt_a, &[][..]), ("b", &wt_b, &["schemas/order.schema.json"][..])] {
        let file = dir.path().join(format!("{id}.spec.json"));
        std::fs::write(&file, spec(declared).to_string()).unwrap();
        let out = agentctl()
            .args(["enqueue", "--store", &store, "--dir", work.to_str().unwrap(), "--id", id])
            .args(["--spec", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }

    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(RenamesTotal).mount(&server).await;
    let spec_arg = format!("openai:gpt-4.1-mini@{}/v1", server.uri());
    let url = store.clone();
    let out = tokio::task::spawn_blocking(move || {
        agentctl()
            .env("OPENAI_API_KEY", "sk-test")
            .args(["worker", "--store", &url, "--drain", "--max-attempts", "1", "--provider", &spec_arg, "--json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report = json(&out);
    let outcomes: Vec<(String, String)> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["task"].as_str().unwrap().to_owned(), t["outcome"].as_str().unwrap().to_owned()))
        .collect();
    let of = |id: &str| outcomes.iter().find(|(t, _)| t == id).map(|(_, o)| o.clone()).unwrap();
    assert_ne!(of("a"), "accepted", "the undeclared break fails the loop's contract gate: {report:#}");
    assert_eq!(of("b"), "accepted", "the declared break passes: {report:#}");

    // a's journal holds the contract gate's failing report, naming the break.
    let shown = json(&agentctl().args(["task", "show", "a", "--store", &store, "--json"]).output().unwrap());
    let contract_failed = shown["events"].as_array().unwrap().iter().any(|e| {
        e["type"] == "gate_report"
            && e["report"]["gate"] == "contract"
            && e["report"]["passed"] == false
            && e["report"].to_string().contains("schemas/order.schema.json#/properties/total")
    });
    assert!(contract_failed, "{:#}", shown["events"]);
    assert_eq!(
        std::fs::read_to_string(wt_a.join("schemas/order.schema.json")).unwrap(),
        ORDER_SCHEMA,
        "the failed attempt was rolled back"
    );

    // The failed task is not merged; the declared one is, its contract
    // gate passing again on the rebased change.
    let refused = merge(&store, "a");
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(json(&refused)["refused"]["reason"], "its change was not accepted; retry or reimplement it first");
    merged_into_main(&store, "b", &repo);
    let shown = json(&agentctl().args(["task", "show", "b", "--store", &store, "--json"]).output().unwrap());
    let rerun: Vec<&Value> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "gate_report" && e["report"]["gate"] == "contract")
        .collect();
    assert_eq!(rerun.len(), 2, "the contract gate ran in the loop and again on the rebased change: {rerun:#?}");
    assert!(rerun.iter().all(|e| e["report"]["passed"] == true), "{rerun:#?}");
    assert_eq!(std::fs::read_to_string(repo.join("schemas/order.schema.json")).unwrap(), RENAMED_SCHEMA);
}
