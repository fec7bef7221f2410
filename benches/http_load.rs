//! The release binary under an external load generator (`wrk`): GET /health
//! (the HTTP floor), `tools/list`, `check_agent_status` (news off) and
//! `claim_file_lock` + `release_file_lock`, in stateless mode (2026-07-28
//! requests shaped like Claude Code's) and in session mode (2025-11-25,
//! `initialize` then `Mcp-Session-Id`), at 8 and 50 kept-alive connections.
//! Prints calls/s, p50 and p99 with each figure's ratio to GET /health in the
//! same run (ratios travel between machines, absolute figures do not), the
//! answers that were not what was asked for, and the bytes the server wrote
//! to disk per claim+release at one connection (`/proc/<pid>/io`).
//!
//!     cargo bench --bench http_load [-- SECONDS [CONNECTIONS...]]
//!
//! Defaults: 5 seconds a run, 8 and 50 connections. Needs `wrk` on PATH
//! (`apt-get install wrk`). wrk runs one thread per connection, so a thread's
//! Lua state is its connection's: that is what lets claim and release
//! alternate on one connection's own path.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::load::bench_args;
use serde_json::{Value, json};

const STATELESS: &str = "2026-07-28";
const SESSION: &str = "2025-11-25";
const USER_AGENT: &str = "claude-code/2.1.330 (sdk-cli)";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stateless,
    Session,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Self::Stateless => "stateless",
            Self::Session => "session",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Health,
    ToolsList,
    Status,
    ClaimRelease,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Health => "GET /health",
            Self::ToolsList => "tools/list",
            Self::Status => "check_agent_status",
            Self::ClaimRelease => "claim+release",
        }
    }

    /// What every good answer contains.
    fn expect(self) -> &'static str {
        match self {
            Self::Health => r#""status":"ok""#,
            Self::ToolsList => r#""name":"claim_file_lock""#,
            Self::Status | Self::ClaimRelease => r#""success":true"#,
        }
    }
}

/// One connection's agent: its URL path, and its session id in session mode.
struct Conn {
    path: String,
    session: Option<String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    requests: u64,
    per_second: f64,
    p50_us: f64,
    p99_us: f64,
    /// Answers that were not the asked-for success, HTTP errors and socket errors.
    errors: u64,
    /// The server's CPU time (user and system, all threads) per call: on a
    /// machine that others load, steadier than calls/s.
    cpu_us_per_call: f64,
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": STATELESS,
        "io.modelcontextprotocol/clientInfo": {
            "name": "claude-code", "title": "Claude Code", "version": "2.1.330"
        },
        "io.modelcontextprotocol/clientCapabilities": { "roots": { "listChanged": true } }
    })
}

/// (mcp-method, mcp-name, body) of each request a connection sends in turn.
fn requests(kind: Kind, mode: Mode, conn: usize) -> Vec<(&'static str, &'static str, String)> {
    let call = |tool: &'static str, arguments: Value| {
        let mut params = json!({ "name": tool, "arguments": arguments });
        if mode == Mode::Stateless {
            params["_meta"] = meta();
            params["_meta"]["progressToken"] = json!(1);
        }
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params });
        ("tools/call", tool, body.to_string())
    };
    let path = format!("bench/c{conn}/file.rs");
    match kind {
        Kind::Health => Vec::new(),
        Kind::ToolsList => {
            let params = match mode {
                Mode::Stateless => json!({ "_meta": meta() }),
                Mode::Session => json!({}),
            };
            let body =
                json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params });
            vec![("tools/list", "", body.to_string())]
        }
        Kind::Status => vec![call("check_agent_status", json!({ "news": false }))],
        Kind::ClaimRelease => vec![
            call(
                "claim_file_lock",
                json!({ "file_paths": [path], "duration_minutes": 5 }),
            ),
            call("release_file_lock", json!({ "file_paths": [path] })),
        ],
    }
}

fn lua_string(s: &str) -> String {
    // Lua long brackets need no escaping as long as the text has no `]==]`.
    format!("[==[{s}]==]")
}

/// The wrk script: each thread (one connection) sends its own requests in
/// turn and counts every answer that is not the asked-for success.
fn script(kind: Kind, mode: Mode, conns: &[Conn]) -> String {
    let mut lua = String::from("local conns = {\n");
    for (i, conn) in conns.iter().enumerate() {
        let protocol = match mode {
            Mode::Stateless => STATELESS,
            Mode::Session => SESSION,
        };
        let _ = write!(lua, "  {{ path = {}, reqs = {{", lua_string(&conn.path));
        for (method, name, body) in requests(kind, mode, i) {
            let mut headers = format!(
                "{{ [\"Content-Type\"] = \"application/json\", [\"Accept\"] = \"application/json, text/event-stream\", \
                 [\"User-Agent\"] = \"{USER_AGENT}\", [\"Mcp-Protocol-Version\"] = \"{protocol}\""
            );
            if mode == Mode::Stateless {
                let _ = write!(headers, ", [\"Mcp-Method\"] = \"{method}\"");
                if !name.is_empty() {
                    let _ = write!(headers, ", [\"Mcp-Name\"] = \"{name}\"");
                }
            }
            if let Some(session) = &conn.session {
                let _ = write!(headers, ", [\"Mcp-Session-Id\"] = \"{session}\"");
            }
            headers.push_str(" }");
            let _ = write!(
                lua,
                " {{ headers = {headers}, body = {} }},",
                lua_string(&body)
            );
        }
        lua.push_str(" } },\n");
    }
    lua.push_str("}\n");
    let _ = writeln!(lua, "local expect = {}", lua_string(kind.expect()));
    lua.push_str(
        r#"
local threads = {}
local next_index = 0
function setup(thread)
  next_index = next_index + 1
  thread:set("index", next_index)
  table.insert(threads, thread)
end
function init(args)
  local conn = conns[index]
  formatted = {}
  if #conn.reqs == 0 then
    formatted[1] = wrk.format("GET", conn.path, { ["User-Agent"] = "wrk" })
  else
    for i, r in ipairs(conn.reqs) do
      formatted[i] = wrk.format("POST", conn.path, r.headers, r.body)
    end
  end
  current = 1
  errors = 0
  shown = 0
end
-- The next request moves on only when an answer comes: wrk calls request()
-- once more than it sends, to check the script, and a connection has one
-- request in flight at a time.
function request()
  return formatted[current]
end
function response(status, headers, body)
  current = current % #formatted + 1
  if status ~= 200 or not string.find(body, expect, 1, true) or string.find(body, '"isError":true', 1, true) then
    errors = errors + 1
    if shown < 2 then
      shown = shown + 1
      io.stderr:write("unexpected answer (" .. status .. "): " .. string.sub(body, 1, 300) .. "\n")
    end
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("errors")
  end
  io.write("ccmulti-unexpected " .. total .. "\n")
end
"#,
    );
    lua
}

fn micros(text: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// Reads wrk's report (`--latency`) and the script's own count.
fn parse(report: &str) -> Figures {
    let mut f = Figures::default();
    for line in report.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => f.p50_us = micros(v).unwrap_or(f64::NAN),
            ["99%", v] => f.p99_us = micros(v).unwrap_or(f64::NAN),
            ["Requests/sec:", v] => f.per_second = v.parse().unwrap_or(f64::NAN),
            [n, "requests", "in", ..] => f.requests = n.parse().unwrap_or(0),
            ["ccmulti-unexpected", n] => f.errors += n.parse::<u64>().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                f.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    f
}

fn run_wrk(
    pid: u32,
    base: &str,
    dir: &Path,
    kind: Kind,
    mode: Mode,
    conns: &[Conn],
    seconds: u64,
) -> Figures {
    let file = dir.join(format!(
        "{}-{}-{}.lua",
        kind.label().replace(['/', ' ', '+'], "_"),
        mode.label(),
        conns.len()
    ));
    std::fs::write(&file, script(kind, mode, conns)).expect("write the wrk script");
    let n = conns.len().to_string();
    // HTTP_LOAD_PERF_DIR=dir: `perf record` the server during each run (with
    // `cargo bench --profile profiling`, whose binary keeps its line tables).
    let perf = std::env::var_os("HTTP_LOAD_PERF_DIR").map(|out| {
        let data =
            Path::new(&out).join(file.with_extension("data").file_name().unwrap_or_default());
        Command::new("perf")
            .args(["record", "-F", "2999", "-g", "-p", &pid.to_string(), "-o"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("perf on PATH")
    });
    let cpu_before = cpu_seconds(pid);
    let output = Command::new("wrk")
        .args([
            "-t",
            &n,
            "-c",
            &n,
            "-d",
            &format!("{seconds}s"),
            "--latency",
        ])
        .arg("-s")
        .arg(&file)
        .arg(base)
        .output()
        .expect("wrk on PATH (apt-get install wrk)");
    if let Some(mut perf) = perf {
        let _ = Command::new("kill")
            .args(["-INT", &perf.id().to_string()])
            .status();
        let _ = perf.wait();
    }
    let cpu = cpu_seconds(pid) - cpu_before;
    let report = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        eprintln!("{}", stderr.trim());
    }
    let mut figures = parse(&report);
    figures.cpu_us_per_call = cpu * 1e6 / figures.requests.max(1) as f64;
    figures
}

/// User and system CPU seconds of a process, all its threads, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks.
    let ticks: f64 = fields
        .get(11..13)
        .map(|t| t.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The session-mode handshake for each connection's agent: `initialize`,
/// then `notifications/initialized`, by hand over one short connection.
fn open_sessions(base: &str, conns: &mut [Conn]) {
    let addr = base.trim_start_matches("http://").to_owned();
    for conn in conns.iter_mut() {
        let init = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": SESSION, "capabilities": {},
                "clientInfo": { "name": "claude-code", "version": "2.1.330" }
            }
        });
        let (headers, _) = post(&addr, &conn.path, None, &init.to_string());
        let session = headers
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("mcp-session-id")
                    .then(|| value.trim().to_owned())
            })
            .expect("initialize answered with a session id");
        let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
        post(&addr, &conn.path, Some(&session), &initialized.to_string());
        conn.session = Some(session);
    }
}

/// One POST on a new connection; (head, body) of the answer.
fn post(addr: &str, path: &str, session: Option<&str>, body: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let session = session
        .map(|s| format!("Mcp-Session-Id: {s}\r\nMcp-Protocol-Version: {SESSION}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nUser-Agent: {USER_AGENT}\r\n{session}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    // An initialize answer in event-stream form stays open until the stream
    // ends; the head and the first event are all that is needed.
    stream
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .expect("timeout");
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                reply.extend_from_slice(&chunk[..n]);
                if reply.windows(7).any(|w| w == b"result\"") {
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&reply).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_owned(), body.to_owned())
}

/// (write_bytes, wchar) of `/proc/<pid>/io`: what the kernel sent on to
/// storage, and what the process handed to write() (the WAL rewrites the
/// same file region, which storage may see once for several writes).
fn written(pid: u32) -> (u64, u64) {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (field("write_bytes:"), field("wchar:"))
}

fn conns_for(n: usize, run: &str) -> Vec<Conn> {
    (0..n)
        .map(|i| Conn {
            path: format!("/mcp/v2/claude/bench__session__{run}__impl_{i}"),
            session: None,
        })
        .collect()
}

fn ratio(x: f64, floor: f64) -> String {
    if floor > 0.0 && x.is_finite() {
        format!("{:.2}x", x / floor)
    } else {
        "-".to_owned()
    }
}

fn main() {
    let args = bench_args();
    let seconds = args.first().copied().unwrap_or(5);
    let levels: Vec<usize> = match args.get(1..) {
        Some(rest) if !rest.is_empty() => rest.iter().map(|&n| n as usize).collect(),
        _ => vec![8, 50],
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root: PathBuf = dir.path().join("project");
    std::fs::create_dir_all(&root).expect("project root");
    let server = Coordinator::start(&dir.path().join("bench.db"), &root, &[]);
    let pid = server.child.id();
    println!(
        "http_load: release ccmulti (pid {pid}), wrk one thread per connection, {seconds} s a run; load average before: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    // Bytes written per claim+release at one connection, before the table.
    {
        let conns = conns_for(1, "io");
        let before = written(pid);
        let f = run_wrk(
            pid,
            &server.base,
            dir.path(),
            Kind::ClaimRelease,
            Mode::Stateless,
            &conns,
            seconds,
        );
        let after = written(pid);
        let pairs = (f.requests / 2).max(1) as f64;
        println!(
            "disk at 1 connection, per claim+release pair: write_bytes {:.0}, wchar {:.0} ({} pairs, {:.0} calls/s, p50 {:.0} µs, unexpected {})",
            after.0.saturating_sub(before.0) as f64 / pairs,
            after.1.saturating_sub(before.1) as f64 / pairs,
            pairs,
            f.per_second,
            f.p50_us,
            f.errors
        );
    }

    println!();
    println!(
        "| request | mode | conns | calls/s | p50 µs | p99 µs | calls/s ÷ health | p50 ÷ health | p99 ÷ health | server CPU µs/call | unexpected |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &levels {
        let health = run_wrk(
            pid,
            &server.base,
            dir.path(),
            Kind::Health,
            Mode::Stateless,
            &(0..n)
                .map(|_| Conn {
                    path: "/health".to_owned(),
                    session: None,
                })
                .collect::<Vec<_>>(),
            seconds,
        );
        let row = |kind: Kind, mode: &str, f: &Figures| {
            println!(
                "| {} | {mode} | {n} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {:.0} | {} |",
                kind.label(),
                f.per_second,
                f.p50_us,
                f.p99_us,
                ratio(f.per_second, health.per_second),
                ratio(f.p50_us, health.p50_us),
                ratio(f.p99_us, health.p99_us),
                f.cpu_us_per_call,
                f.errors
            );
        };
        row(Kind::Health, "-", &health);
        for mode in [Mode::Stateless, Mode::Session] {
            for kind in [Kind::ToolsList, Kind::Status, Kind::ClaimRelease] {
                let run = format!("{}{n}{}", mode.label(), kind.label().len());
                let mut conns = conns_for(n, &run);
                if mode == Mode::Session {
                    open_sessions(&server.base, &mut conns);
                }
                let f = run_wrk(pid, &server.base, dir.path(), kind, mode, &conns, seconds);
                row(kind, mode.label(), &f);
            }
        }
    }
    println!();
    println!(
        "load average after: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
