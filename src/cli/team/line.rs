//! The one line that starts an agent's terminal, the same in a tmux pane and
//! in what `ccmulti team --print` shows.

use std::path::Path;

use ccmulti::hook::shell_quote;

/// What an agent's terminal runs, as one line a person can paste: go to its
/// directory, set its environment, start claude with its arguments, and the
/// prompt (read from a file, so the line stays short) as the first message.
pub struct StartLine<'a> {
    pub dir: &'a Path,
    pub env: &'a [(&'a str, String)],
    /// A `NAME=path` pair whose variable is read from a private file, for secrets.
    pub env_from_file: Option<(&'a str, &'a Path)>,
    pub claude: &'a str,
    pub args: &'a [String],
    pub prompt_file: Option<&'a Path>,
}

impl StartLine<'_> {
    pub fn render(&self) -> String {
        let mut line = format!("cd {}", shell_quote(&self.dir.to_string_lossy()));
        let mut exports: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        if let Some((name, file)) = self.env_from_file {
            exports.push(format!(
                "{name}=\"$(cat {})\"",
                shell_quote(&file.to_string_lossy())
            ));
        }
        if !exports.is_empty() {
            line.push_str(&format!(" && export {}", exports.join(" ")));
        }
        line.push_str(" && ");
        line.push_str(&shell_quote(self.claude));
        for arg in self.args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        if let Some(prompt) = self.prompt_file {
            // After `--`: a variadic option such as --mcp-config must not take the prompt.
            line.push_str(&format!(
                " -- \"$(cat {})\"",
                shell_quote(&prompt.to_string_lossy())
            ));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_line_quotes_what_it_must() {
        let env = [("CCMULTI_AGENT", "u__session__s__planner".to_owned())];
        let args = ["--mcp-config".to_owned(), "/d/my file.json".to_owned()];
        let line = StartLine {
            dir: Path::new("/r"),
            env: &env,
            env_from_file: Some(("CCMULTI_TOKEN", Path::new("/d/token"))),
            claude: "claude",
            args: &args,
            prompt_file: Some(Path::new("/d/p.md")),
        }
        .render();
        assert_eq!(
            line,
            "cd /r && export CCMULTI_AGENT=u__session__s__planner CCMULTI_TOKEN=\"$(cat /d/token)\" \
             && claude --mcp-config '/d/my file.json' -- \"$(cat /d/p.md)\""
        );
    }
}
