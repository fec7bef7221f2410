//! The planner on real repositories nobody on this project wrote: each task's
//! files against the files read from the code (benches/planner_eval/README.md).
//!
//! ```sh
//! cargo bench --bench planner_eval               # both halves, then 10,000 files
//! cargo bench --bench planner_eval -- dev        # one half
//! PLANNER_EVAL_VERBOSE=1 cargo bench --bench planner_eval -- dev   # every task
//! PLANNER_EVAL_DUMP=1 ...                        # the tools' JSON text too
//! PLANNER_EVAL_RUNS=1 ...                        # plans per repository (default 3)
//! ```
//!
//! Each repository's tasks go through the path `analyze_task_conflicts` and
//! `create_task_distribution` take (scan, analysis, distribution at 2 agents);
//! a task's predicted files are its chosen files, not its candidates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ccmulti_model::tools::plan::{Complexity, Distribution};
use ccmulti_planner::{
    Analysis, ConflictReport, Connection, Plan, PlanRequest, ScanLimits, TaskInput, analyze, plan,
};
use serde_json::Value;

use ccmulti_testkit::synthetic;

const SETS: &[&str] = &["dev", "heldout", "fresh"];

/// Plans per repository; the time reported is their median.
fn runs() -> usize {
    std::env::var("PLANNER_EVAL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

#[derive(Clone)]
struct Task {
    id: String,
    description: String,
    files: BTreeSet<String>,
}

struct Repo {
    name: String,
    root: PathBuf,
    tasks: Vec<Task>,
}

#[derive(Default)]
struct Score {
    repos: usize,
    tasks: usize,
    hits: usize,
    predicted: usize,
    truth: usize,
    shared_pairs: usize,
    shared_found: usize,
    /// Truly shared pairs reported at any severity (high or medium shared_files).
    shared_found_any: usize,
    shared_together: usize,
    false_high: usize,
    empty: usize,
    /// Tasks in the largest group the plan made, and in the largest the truth makes.
    largest_group: usize,
    largest_true_group: usize,
    analysis_bytes: Vec<usize>,
    distribution_bytes: Vec<usize>,
    plan_time: Vec<Duration>,
}

impl Score {
    fn add(&mut self, other: &Score) {
        self.repos += other.repos;
        self.tasks += other.tasks;
        self.hits += other.hits;
        self.predicted += other.predicted;
        self.truth += other.truth;
        self.shared_pairs += other.shared_pairs;
        self.shared_found += other.shared_found;
        self.shared_found_any += other.shared_found_any;
        self.shared_together += other.shared_together;
        self.false_high += other.false_high;
        self.empty += other.empty;
        self.largest_group = self.largest_group.max(other.largest_group);
        self.largest_true_group = self.largest_true_group.max(other.largest_true_group);
        self.analysis_bytes.extend(&other.analysis_bytes);
        self.distribution_bytes.extend(&other.distribution_bytes);
        self.plan_time.extend(&other.plan_time);
    }

    fn line(&self, name: &str) -> String {
        let max = |v: &[usize]| v.iter().copied().max().unwrap_or(0);
        let median = |v: &[Duration]| {
            let mut v = v.to_vec();
            v.sort();
            v.get(v.len() / 2).copied().unwrap_or_default()
        };
        format!(
            "| {name} | {} | {:.2} | {:.2} | {}/{} ({} any) | {}/{} | {} | {} | {} / {} | {} B | {} B | {} ms |",
            self.tasks,
            self.hits as f64 / self.predicted.max(1) as f64,
            self.hits as f64 / self.truth.max(1) as f64,
            self.shared_found,
            self.shared_pairs,
            self.shared_found_any,
            self.shared_together,
            self.shared_pairs,
            self.false_high,
            self.empty,
            self.largest_group,
            self.largest_true_group,
            max(&self.analysis_bytes),
            max(&self.distribution_bytes),
            median(&self.plan_time).as_millis(),
        )
    }
}

fn main() {
    let manifest = &ccmulti_testkit::interop::repo();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wanted: Vec<&String> = args.iter().filter(|a| SETS.contains(&a.as_str())).collect();
    // `scale` alone runs only the 10,000-file plan (no repository's tasks).
    let scale_only = args.iter().any(|a| a == "scale");
    let verbose = std::env::var_os("PLANNER_EVAL_VERBOSE").is_some();
    println!(
        "| set / repository | tasks | precision | recall | shared pairs found as high (at any severity) | shared pairs on one agent (2 agents) | false high conflicts | empty tasks | largest group: plan / truth | analyze text, 8 tasks (max) | distribution text, 8 tasks, 2 agents (max) | time per plan (median of the runs) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for set in SETS {
        if (scale_only && wanted.is_empty())
            || (!wanted.is_empty() && !wanted.iter().any(|w| w == set))
        {
            continue;
        }
        let repos = match load_set(manifest, set) {
            Ok(repos) => repos,
            Err(why) => {
                println!("| {set} | {why} |");
                continue;
            }
        };
        let mut half = Score::default();
        for repo in &repos {
            let score = evaluate(repo, verbose);
            println!("{}", score.line(&format!("{set} / {}", repo.name)));
            half.add(&score);
        }
        if !repos.is_empty() {
            println!("{}", half.line(&format!("**{set}**")));
        }
    }
    if wanted.is_empty() || scale_only {
        scale(manifest);
    }
}

/// A plan of 50 tasks over 10,000 files (`ccmulti_testkit::synthetic`).
fn scale(manifest: &Path) {
    let root = manifest.join("target/planner-eval/synthetic-10k");
    if !root.join("pkg99").exists() {
        synthetic::ten_thousand_files(&root);
    }
    let inputs = synthetic::tasks();
    let mut times: Vec<Duration> = (0..runs())
        .map(|_| {
            let started = Instant::now();
            let analysis = analyze(
                &root,
                &inputs,
                &[],
                Complexity::Complex,
                ScanLimits::default(),
            );
            let took = started.elapsed();
            if let Some(why) = analysis.project.stopped_early {
                println!("10,000 files: the scan {why}");
            }
            took
        })
        .collect();
    times.sort();
    println!(
        "\n10,000 files, 50 tasks: {} ms per plan (median of {})",
        times
            .get(times.len() / 2)
            .copied()
            .unwrap_or_default()
            .as_millis(),
        times.len()
    );
}

fn load_set(manifest: &Path, set: &str) -> Result<Vec<Repo>, String> {
    let dir = manifest.join("benches/planner_eval").join(set);
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("no inputs in {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    specs.sort();
    let dest = manifest.join("target/planner-eval");
    let mut repos = Vec::new();
    for spec in specs {
        let text =
            std::fs::read_to_string(&spec).map_err(|e| format!("{}: {e}", spec.display()))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", spec.display()))?;
        let name = json["name"].as_str().unwrap_or("?").to_owned();
        let root = dest.join(&name);
        if !root.join(".planner-eval-sha256").exists() {
            let fetched = Command::new("python3")
                .arg(manifest.join("benches/planner_eval/fetch.py"))
                .arg(&spec)
                .status();
            if !fetched.is_ok_and(|s| s.success()) {
                return Err(format!(
                    "{name} is not fetched and fetch.py failed; run `python3 benches/planner_eval/fetch.py --set {set}`"
                ));
            }
        }
        let tasks = json["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| Task {
                id: t["id"].as_str().unwrap_or("?").to_owned(),
                description: t["description"].as_str().unwrap_or_default().to_owned(),
                files: t["files"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            })
            .collect();
        repos.push(Repo { name, root, tasks });
    }
    Ok(repos)
}

fn plan_of(repo: &Repo) -> (Analysis, Distribution, Duration) {
    let inputs: Vec<TaskInput> = repo
        .tasks
        .iter()
        .map(|t| TaskInput {
            description: t.description.clone(),
            files: None,
        })
        .collect();
    let conn = Connection {
        public_url: "http://127.0.0.1:7477".into(),
        user_id: "bench".into(),
        session_id: "planner-eval".into(),
        auth_header: None,
    };
    let request = PlanRequest {
        agents: Some(2),
        ..PlanRequest::new(repo.root.clone(), inputs)
    };
    let started = Instant::now();
    let Plan {
        analysis,
        distribution,
    } = plan(&request, &conn);
    (analysis, distribution, started.elapsed())
}

fn evaluate(repo: &Repo, verbose: bool) -> Score {
    let mut score = Score {
        repos: 1,
        tasks: repo.tasks.len(),
        ..Score::default()
    };
    let mut done: Vec<(Analysis, Distribution)> = Vec::new();
    for _ in 0..runs() {
        let (analysis, plan, took) = plan_of(repo);
        score.plan_time.push(took);
        done.push((analysis, plan));
    }
    let Some((analysis, plan)) = done.pop() else {
        return score;
    };
    // The sizes are for the bar's plan of 8 tasks: the repository's first 8.
    let first_eight = Repo {
        name: repo.name.clone(),
        root: repo.root.clone(),
        tasks: repo.tasks.iter().take(8).map(Task::clone).collect(),
    };
    let (small, small_plan, _) = plan_of(&first_eight);
    score.analysis_bytes.push(small.reply().to_string().len());
    score
        .distribution_bytes
        .push(small_plan.reply().to_string().len());
    if std::env::var_os("PLANNER_EVAL_DUMP").is_some() {
        println!("{}\n{}", analysis.reply(), plan.reply());
    }
    score_files(repo, &analysis, verbose, &mut score);
    score.largest_group = analysis.groups.iter().map(Vec::len).max().unwrap_or(0);
    score.largest_true_group = largest_true_group(&repo.tasks);
    score_pairs(repo, &analysis, &plan, verbose, &mut score);
    score
}

/// Each task's predicted files against the files its commit really changed.
fn score_files(repo: &Repo, analysis: &Analysis, verbose: bool, score: &mut Score) {
    let predicted: Vec<BTreeSet<&str>> = analysis
        .tasks
        .iter()
        .map(|t| t.files.iter().map(String::as_str).collect())
        .collect();
    for (task, (got, truth)) in repo
        .tasks
        .iter()
        .zip(predicted.iter().zip(&repo.tasks))
        .map(|(t, (g, tr))| (t, (g, &tr.files)))
    {
        let hits = got.iter().filter(|f| truth.contains(**f)).count();
        score.hits += hits;
        score.predicted += got.len();
        score.truth += truth.len();
        score.empty += usize::from(got.is_empty());
        if verbose {
            let analysed = analysis
                .tasks
                .iter()
                .find(|a| a.description == task.description);
            println!("  {} [{hits}/{} of {}]", task.id, got.len(), truth.len());
            if let Some(a) = analysed {
                for r in &a.reasons {
                    let mark = if truth.contains(&r.path) { "+" } else { "-" };
                    println!("    {mark} {} ({})", r.path, r.why);
                }
                for r in &a.candidates {
                    let mark = if truth.contains(&r.path) { "+" } else { " " };
                    println!("    {mark} candidate {} ({})", r.path, r.why);
                }
            }
            for missed in truth.iter().filter(|f| !got.contains(f.as_str())) {
                println!("    ! missed {missed}");
            }
        }
    }
}

/// Each pair of tasks: did the analysis report the pairs that truly share a
/// file (and only those), and did the plan give them to one agent?
fn score_pairs(
    repo: &Repo,
    analysis: &Analysis,
    plan: &Distribution,
    verbose: bool,
    score: &mut Score,
) {
    let ids: Vec<&str> = analysis.tasks.iter().map(|t| t.task_id.as_str()).collect();
    let pairs = |keep: fn(&ConflictReport) -> bool| -> BTreeSet<(&str, &str)> {
        analysis
            .conflicts
            .iter()
            .filter(|c| keep(c))
            .map(|c| (c.tasks[0].as_str(), c.tasks[1].as_str()))
            .collect()
    };
    let high = pairs(|c| c.severity == "high");
    let shared_any = pairs(|c| c.kind == "shared_files");
    let owner: BTreeMap<&str, &str> = plan
        .agents
        .iter()
        .flat_map(|a| {
            a.tasks
                .iter()
                .map(move |t| (t.task_id.as_str(), a.agent_id.as_str()))
        })
        .collect();
    for i in 0..repo.tasks.len() {
        for j in i + 1..repo.tasks.len() {
            let truly = !repo.tasks[i].files.is_disjoint(&repo.tasks[j].files);
            let reported = high.contains(&(ids[i], ids[j]));
            if truly {
                score.shared_pairs += 1;
                score.shared_found += usize::from(reported);
                score.shared_found_any += usize::from(shared_any.contains(&(ids[i], ids[j])));
                score.shared_together += usize::from(owner.get(ids[i]) == owner.get(ids[j]));
            } else if reported {
                score.false_high += 1;
            }
            if verbose && truly && !reported {
                println!(
                    "  ! shared pair not found: {} + {}",
                    repo.tasks[i].id, repo.tasks[j].id
                );
            }
            if verbose && !truly && reported {
                println!(
                    "  ! false high conflict: {} + {}",
                    repo.tasks[i].id, repo.tasks[j].id
                );
            }
        }
    }
}

/// Tasks joined by sharing a true file, transitively: the group the truth
/// itself forces onto one agent, so the plan's own can be judged against it.
fn largest_true_group(tasks: &[Task]) -> usize {
    let mut leader: Vec<usize> = (0..tasks.len()).collect();
    fn find(leader: &mut [usize], mut i: usize) -> usize {
        while leader[i] != i {
            i = leader[i];
        }
        i
    }
    for i in 0..tasks.len() {
        for j in i + 1..tasks.len() {
            if !tasks[i].files.is_disjoint(&tasks[j].files) {
                let (a, b) = (find(&mut leader, i), find(&mut leader, j));
                leader[a.max(b)] = a.min(b);
            }
        }
    }
    let mut sizes = vec![0usize; tasks.len()];
    for i in 0..tasks.len() {
        sizes[find(&mut leader, i)] += 1;
    }
    sizes.into_iter().max().unwrap_or(0)
}
