//! Claude Code asks, in every new folder, whether it may trust the files
//! there, and exits on "No": in a team, every window would ask at once. So
//! `ccmulti team` asks once, before it starts anything, and records the
//! answer where Claude Code records its own: `projects[<path>]
//! .hasTrustDialogAccepted` in its config file (`~/.claude.json`, or under
//! `CLAUDE_CONFIG_DIR`). The path is the repository's main checkout, which
//! Claude Code also consults for the repository's other worktrees (and it
//! takes a trusted folder between an agent's directory and its worktree's top
//! as trust too).
//!
//! The config is the user's: it is edited only when well-formed, everything
//! else in it is kept as it was, and the new file replaces the old in one
//! rename.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::cli::out::errln;

/// Claude Code's config file: `$CLAUDE_CONFIG_DIR/.claude.json`, else `~/.claude.json`.
pub fn config_file() -> Option<PathBuf> {
    let dir = std::env::var_os("CLAUDE_CONFIG_DIR")
        .filter(|d| !d.is_empty())
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()))?;
    Some(PathBuf::from(dir).join(".claude.json"))
}

/// Where an agent works: its directory and the top of its worktree.
pub struct Place<'a> {
    pub dir: &'a Path,
    pub top: &'a Path,
}

fn accepted(config: &Value, path: &Path) -> bool {
    config["projects"][path.to_string_lossy().as_ref()]["hasTrustDialogAccepted"] == json!(true)
}

/// Whether Claude Code would start in each place without asking: the main
/// checkout is trusted, or a folder from the place up to its worktree's top is.
pub fn trusted(config: &Value, main: &Path, places: &[Place<'_>]) -> bool {
    accepted(config, main)
        || places.iter().all(|p| {
            p.dir
                .ancestors()
                .take_while(|a| a.starts_with(p.top))
                .any(|a| accepted(config, a))
        })
}

/// `config` with `main` trusted, the rest as it was.
pub fn with_trust(mut config: Value, main: &Path) -> Result<Value> {
    let Value::Object(top) = &mut config else {
        bail!("its top level is not an object");
    };
    let projects = top
        .entry("projects")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(projects) = projects else {
        bail!("its \"projects\" is not an object");
    };
    let entry = projects
        .entry(main.to_string_lossy().into_owned())
        .or_insert_with(|| json!({ "allowedTools": [] }));
    let Value::Object(entry) = entry else {
        bail!("its entry for {} is not an object", main.display());
    };
    entry.insert("hasTrustDialogAccepted".into(), json!(true));
    Ok(config)
}

/// Makes sure Claude Code trusts the team's places, asking once (or, with
/// `yes`, not asking); refuses, changing nothing, when it may not record it.
/// With `print_only` and without `yes` (`--print`: a person starts each
/// claude in a terminal of their own, where Claude Code asks its question
/// itself) it only says so.
pub fn ensure(main: &Path, places: &[Place<'_>], yes: bool, print_only: bool) -> Result<()> {
    let Some(file) = config_file() else {
        return Ok(());
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    let config: Value = match &text {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "Claude Code's config {} is not valid JSON ({e}); ccmulti team records there that \
                 Claude Code may trust {}, and will not edit a file it cannot read. Fix it (or run \
                 `claude` once), then run ccmulti team again. Nothing was changed",
                file.display(),
                main.display()
            )
        })?,
        None => json!({}),
    };
    if trusted(&config, main, places) {
        return Ok(());
    }
    if print_only && !yes {
        errln!(
            "note: Claude Code does not trust {} yet: each claude started from these lines first \
             asks \"Do you trust the files in this folder?\"; answer \"Yes, I trust this folder\" \
             (or run ccmulti team --print --yes to record it now)",
            main.display()
        );
        return Ok(());
    }
    let how = format!(
        "run `claude` in {} once and answer \"Yes, I trust this folder\", or run ccmulti team --yes",
        main.display()
    );
    if !yes && !ask(main, &file)? {
        bail!(
            "Claude Code does not trust {} yet, and each agent's claude would ask first (and exit on \"No\"); {how}. Nothing was changed",
            main.display()
        );
    }
    let trusting = with_trust(config, main).map_err(|why| {
        anyhow::anyhow!(
            "Claude Code's config {} is not as expected ({why}), so ccmulti team will not edit it; {how}. Nothing was changed",
            file.display()
        )
    })?;
    replace(&file, &trusting)?;
    errln!(
        "recorded in {} that Claude Code may trust {} (its worktrees too)",
        file.display(),
        main.display()
    );
    Ok(())
}

/// Asks on the terminal; `false` when there is none to ask on.
fn ask(main: &Path, file: &Path) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "Claude Code has not been told it may trust {}: each agent's claude would first ask \
         \"Do you trust the files in this folder?\" (and exit on \"No\").\n\
         Trust it now, as answering \"Yes, I trust this folder\" there would? \
         It is recorded in {}, as Claude Code records it. [y/N] ",
        main.display(),
        file.display()
    );
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// Writes `config` to `file` by a rename from a new file beside it, with the
/// old file's permissions (a new one: its owner's only).
fn replace(file: &Path, config: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(config)?;
    text.push('\n');
    let temp = file.with_extension(format!("json.ccmulti-{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let written = (|| -> std::io::Result<()> {
        let mut out = ccmulti::store::create_private_file(&temp)?;
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
        if let Ok(meta) = std::fs::metadata(file) {
            std::fs::set_permissions(&temp, meta.permissions())?;
        }
        std::fs::rename(&temp, file)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("writing {}", file.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_checkout_or_a_folder_up_to_the_worktree_top_is_trust() {
        let main = Path::new("/home/u/app");
        let wt = Place {
            dir: Path::new("/home/u/app-implementer-1/sub"),
            top: Path::new("/home/u/app-implementer-1"),
        };
        let none = json!({ "projects": {} });
        assert!(!trusted(
            &none,
            main,
            &[Place {
                dir: main,
                top: main
            }]
        ));
        let repo = json!({ "projects": { "/home/u/app": { "hasTrustDialogAccepted": true } } });
        assert!(trusted(
            &repo,
            main,
            &[Place {
                dir: main,
                top: main
            }]
        ));
        let worktree_only = json!({ "projects": { "/home/u/app-implementer-1": { "hasTrustDialogAccepted": true } } });
        assert!(trusted(&worktree_only, main, std::slice::from_ref(&wt)));
        // A folder above the worktree's top is not Claude Code's trust for it.
        let above = json!({ "projects": { "/home/u": { "hasTrustDialogAccepted": true } } });
        assert!(!trusted(&above, main, &[wt]));
    }

    #[test]
    fn trusting_keeps_everything_else_and_refuses_what_it_cannot_read() {
        let config = json!({
            "numStartups": 5,
            "theme": "dark",
            "projects": { "/home/u/app": { "allowedTools": ["Bash"], "lastCost": 1.5 },
                          "/other": { "hasTrustDialogAccepted": false } },
            "zzz": [1, 2]
        });
        let trusting = with_trust(config, Path::new("/home/u/app")).unwrap();
        assert_eq!(
            trusting,
            json!({
                "numStartups": 5,
                "theme": "dark",
                "projects": { "/home/u/app": { "allowedTools": ["Bash"], "lastCost": 1.5, "hasTrustDialogAccepted": true },
                              "/other": { "hasTrustDialogAccepted": false } },
                "zzz": [1, 2]
            })
        );
        // Key order is kept as it was.
        let keys: Vec<&String> = trusting.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["numStartups", "theme", "projects", "zzz"]);
        let fresh = with_trust(json!({}), Path::new("/r")).unwrap();
        assert_eq!(
            fresh["projects"]["/r"]["hasTrustDialogAccepted"],
            json!(true)
        );
        for odd in [
            json!([]),
            json!({ "projects": [] }),
            json!({ "projects": { "/r": 3 } }),
        ] {
            assert!(with_trust(odd, Path::new("/r")).is_err());
        }
    }

    #[test]
    fn the_file_is_replaced_whole_with_its_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".claude.json");
        std::fs::write(&file, "{\"a\": 1}").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        replace(&file, &json!({ "a": 1, "b": 2 })).unwrap();
        let back: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(back, json!({ "a": 1, "b": 2 }));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left");
    }
}
